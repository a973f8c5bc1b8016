import { releaseDueRetry } from "../src/db/tasks.ts";
import { requestSchedule } from "../src/scheduler/request.ts";
import { schedulePass } from "../src/scheduler/schedule.ts";
import type { JobDeps } from "./deps.ts";

/** The scheduling pass as a job: one at a time across all workers (single-flight job id). */
export async function schedule(deps: JobDeps): Promise<void> {
  await schedulePass(deps);
}

/**
 * A failed task's retry is due: the task back to ready (only while it still waits for this retry), and a
 * scheduling pass asked for, which starts it. A task a person moved meanwhile, or whose retry was put
 * later by another failure, is left alone.
 */
export async function retryDue(deps: JobDeps, payload: { taskId: number; at: number }): Promise<void> {
  const released = await releaseDueRetry(deps.db, payload.taskId, new Date(payload.at));
  if (released) await requestSchedule(deps);
}
