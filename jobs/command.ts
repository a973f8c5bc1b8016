import { PermanentJobError } from "../src/queue/queue.ts";
import type { JobDeps } from "./deps.ts";

/** A comment with `/drover` commands. (Being built: issue 13.) */
export async function commandJob(_deps: JobDeps, payload: { deliveryId: string }): Promise<void> {
  throw new PermanentJobError(`commands are not handled yet (delivery ${payload.deliveryId})`);
}
