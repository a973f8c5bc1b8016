import type { z } from "zod";
import { JOBS, isJobName, type JobName } from "../src/queue/job-catalog.ts";
import { IssueBusyError } from "../src/db/issue-lock.ts";
import { rateLimitDelay } from "../src/github/rate-limit.ts";
import { PermanentJobError, type ProcessJob } from "../src/queue/queue.ts";
import { closeTask } from "./close-task.ts";
import type { JobContext, JobDeps } from "./deps.ts";
import { publish } from "./publish.ts";
import { runTask } from "./run-task.ts";
import { startTask } from "./start-task.ts";
import { announce } from "./announce.ts";
import { reconcile } from "./reconcile.ts";
import { schedule } from "./schedule.ts";
import { syncIssueJob } from "./sync-issue.ts";

type Handler<N extends JobName> = (
  deps: JobDeps,
  payload: z.infer<(typeof JOBS)[N]["payload"]>,
  context: JobContext,
) => Promise<void>;

/** Job name → handler. Payload shapes, ids and retry options live with the queue (src/queue/job-catalog.ts). */
export const HANDLERS: { [N in JobName]: Handler<N> } = {
  "start-task": (deps, payload) => startTask(deps, payload),
  "close-task": (deps, payload) => closeTask(deps, payload),
  "run-task": runTask,
  publish: (deps, payload) => publish(deps, payload),
  "sync-issue": (deps, payload) => syncIssueJob(deps, payload),
  schedule: (deps) => schedule(deps),
  announce: (deps, payload) => announce(deps, payload),
  reconcile: (deps, payload) => reconcile(deps, payload),
  canary: async () => {},
};

/** How long a job that found its issue busy waits before it tries the lock again. */
const ISSUE_BUSY_RETRY_MS = 5_000;

/** The worker's one entry: validate the payload at the boundary, then run the job's handler. */
export function processJob(deps: JobDeps): ProcessJob {
  return async (name, data, context) => {
    if (!isJobName(name)) throw new PermanentJobError(`unknown job "${name}"`);
    const parsed = JOBS[name].payload.safeParse(data);
    if (!parsed.success)
      throw new PermanentJobError(`job ${name} has an invalid payload: ${parsed.error.message}`);
    const handler = HANDLERS[name] as Handler<typeof name>;
    const log = deps.log.child({ job: name, jobId: context.jobId });
    try {
      await handler({ ...deps, log }, parsed.data as never, {
        jobId: context.jobId,
        lastTry: context.attemptsMade + 1 >= JOBS[name].options.attempts,
        signal: context.signal,
      });
    } catch (error) {
      // GitHub asked us to wait, or another job is working on the same issue: the job waits, it does not
      // fail (and the wait costs it no try).
      const waitMs = error instanceof IssueBusyError ? ISSUE_BUSY_RETRY_MS : rateLimitDelay(error);
      if (waitMs === null) throw error;
      log.warn({ waitMs, err: (error as Error).message }, "the job waits");
      await context.delay(waitMs);
    }
  };
}
