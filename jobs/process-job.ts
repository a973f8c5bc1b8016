import type { z } from "zod";
import { JOBS, isJobName, type JobName } from "../src/queue/job-catalog.ts";
import { IssueBusyError } from "../src/db/issue-lock.ts";
import { UnreadableConfigError } from "../src/config/stored.ts";
import { classifyGitHubError } from "../src/github/errors.ts";
import { PermanentJobError, type ProcessJob } from "../src/queue/queue.ts";
import { closeTask } from "./close-task.ts";
import type { JobContext, JobDeps, JobFate } from "./deps.ts";
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

/** The worker's one entry: validate the payload at the boundary, run the job's handler, decide its fate. */
export function processJob(deps: JobDeps): ProcessJob {
  return async (name, data, context) => {
    if (!isJobName(name)) throw new PermanentJobError(`unknown job "${name}"`);
    const parsed = JOBS[name].payload.safeParse(data);
    if (!parsed.success)
      throw new PermanentJobError(`job ${name} has an invalid payload: ${parsed.error.message}`);
    const handler = HANDLERS[name] as Handler<typeof name>;
    const log = deps.log.child({ job: name, jobId: context.jobId });
    const lastTry = context.attemptsMade + 1 >= JOBS[name].options.attempts;
    const fate = (error: unknown) => fateOf(error, lastTry);
    try {
      await handler({ ...deps, log }, parsed.data as never, {
        jobId: context.jobId,
        fate,
        signal: context.signal,
      });
    } catch (error) {
      const decided = fate(error);
      if (decided.kind === "wait") {
        log.warn({ waitMs: decided.ms, err: (error as Error).message }, "the job waits");
        await context.delay(decided.ms);
      }
      if (decided.kind === "final" && !(error instanceof PermanentJobError) && !lastTry) {
        // GitHub refused, or the task's config cannot be read: the queue must not try again.
        const permanent = new PermanentJobError(decided.reason);
        permanent.cause = error;
        throw permanent;
      }
      throw error;
    }
  };
}

/**
 * Whether a failed job runs again, the one place that decides it. GitHub asked to wait, or another job
 * holds the issue: it waits, and the wait costs no try. GitHub refused the request (see
 * `classifyGitHubError`), the task's recorded config cannot be read, or the handler said nothing will
 * change: it fails for good. Anything else is tried again until the job's tries are used up.
 */
export function fateOf(error: unknown, lastTry: boolean): JobFate {
  if (error instanceof IssueBusyError) return { kind: "wait", ms: ISSUE_BUSY_RETRY_MS };
  const github = classifyGitHubError(error);
  if (github?.kind === "rate-limited") return { kind: "wait", ms: github.waitMs };
  if (github?.kind === "refused") return { kind: "final", reason: github.message };
  if (error instanceof PermanentJobError || error instanceof UnreadableConfigError || lastTry)
    return { kind: "final", reason: error instanceof Error ? error.message : String(error) };
  return { kind: "retry" };
}
