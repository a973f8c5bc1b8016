import { PermanentJobError } from "../src/queue/queue.ts";
import type { JobDeps } from "./deps.ts";

/** A review of a Drover pull request. (Being built: issue 13.) */
export async function reviewJob(_deps: JobDeps, payload: { deliveryId: string }): Promise<void> {
  throw new PermanentJobError(`reviews are not handled yet (delivery ${payload.deliveryId})`);
}
