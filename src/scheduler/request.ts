import type { Db } from "../db/client.ts";
import { bumpGeneration } from "../db/graph-rows.ts";
import type { Enqueue } from "../queue/job-catalog.ts";

/** Something may have changed what is ready: a pass is queued, and one already running goes round again. */
export async function requestSchedule(deps: { db: Db; enqueue: Enqueue }): Promise<void> {
  await bumpGeneration(deps.db);
  await deps.enqueue("schedule", {});
}
