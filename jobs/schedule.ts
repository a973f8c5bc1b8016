import { schedulePass } from "../src/scheduler/schedule.ts";
import type { JobDeps } from "./deps.ts";

/** The scheduling pass as a job: one at a time across all workers (single-flight job id). */
export async function schedule(deps: JobDeps): Promise<void> {
  await schedulePass(deps);
}
