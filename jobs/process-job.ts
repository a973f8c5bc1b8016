import type { z } from "zod";
import { JOBS, isJobName, traceparentOf, type JobName } from "../src/queue/job-catalog.ts";
import { SpanKind, annotate, traced, underTraceparent } from "../src/lib/trace.ts";
import { recordDeadLetter } from "../src/db/dead-letters.ts";
import { IssueBusyError } from "../src/db/issue-lock.ts";
import { UnreadableConfigError } from "../src/config/stored.ts";
import { classifyGitHubError } from "../src/github/errors.ts";
import { PermanentJobError, isPutBack, type ProcessJob } from "../src/queue/queue.ts";
import { closeTask } from "./close-task.ts";
import { commandJob } from "./command.ts";
import { controlJob } from "./control.ts";
import { followBase, followPull } from "./follow-base.ts";
import { configCheck } from "./config-check.ts";
import { reviewJob } from "./review.ts";
import type { JobContext, JobDeps, JobFate } from "./deps.ts";
import { planJob } from "./plan.ts";
import { acceptJob } from "./plan/accept.ts";
import { publish } from "./publish.ts";
import { runTask } from "./run-task.ts";
import { startTask } from "./start-task.ts";
import { announce } from "./announce.ts";
import { reconcile } from "./reconcile.ts";
import { retryDue, schedule } from "./schedule.ts";
import { syncIssueJob } from "./sync-issue.ts";
import { warmPool } from "./warm-pool.ts";
import { notify } from "./notify.ts";

type Handler<N extends JobName> = (
  deps: JobDeps,
  payload: z.infer<(typeof JOBS)[N]["payload"]>,
  context: JobContext,
) => Promise<void>;

/** Job name → handler. Payload shapes, ids and retry options live with the queue (src/queue/job-catalog.ts). */
const HANDLERS: { [N in JobName]: Handler<N> } = {
  "start-task": (deps, payload) => startTask(deps, payload),
  "close-task": (deps, payload) => closeTask(deps, payload),
  command: (deps, payload) => commandJob(deps, payload),
  review: (deps, payload) => reviewJob(deps, payload),
  "follow-base": (deps, payload) => followBase(deps, payload),
  "follow-pull": (deps, payload) => followPull(deps, payload),
  "config-check": (deps, payload) => configCheck(deps, payload),
  "run-task": runTask,
  plan: (deps, payload, context) => planJob(deps, payload, context),
  "plan-accept": (deps, payload, context) => acceptJob(deps, payload, context),
  publish: (deps, payload) => publish(deps, payload),
  "sync-issue": (deps, payload) => syncIssueJob(deps, payload),
  schedule: (deps) => schedule(deps),
  "retry-due": (deps, payload) => retryDue(deps, payload),
  announce: (deps, payload) => announce(deps, payload),
  reconcile: (deps, payload) => reconcile(deps, payload),
  "warm-pool": (deps, payload, context) => warmPool(deps, payload, context.signal),
  control: (deps, payload) => controlJob(deps, payload),
  canary: async () => {},
  notify: (deps, payload, context) => notify(deps, payload, context),
};

/** How long a job that found its issue busy waits before it tries the lock again. */
const ISSUE_BUSY_RETRY_MS = 5_000;

/**
 * The worker's one entry: validate the payload at the boundary, run the job's handler, decide its fate.
 * A job that fails for good is parked as a dead letter here, and only here.
 */
export function processJob(deps: JobDeps): ProcessJob {
  const run = runJob(deps);
  // Each job is a span continuing the trace that queued it (its data's traceparent), when tracing is on.
  return (name, data, context) =>
    underTraceparent(traceparentOf(data), () =>
      traced(
        "drover.job",
        { "drover.job": name, "drover.job_id": context.jobId, "drover.try": context.attemptsMade + 1 },
        () => run(name, data, context),
        SpanKind.CONSUMER,
        isPutBack,
      ),
    );
}

function runJob(deps: JobDeps): ProcessJob {
  return async (name, data, context) => {
    const log = deps.log.child({ job: name, jobId: context.jobId });
    const lastTry = !isJobName(name) || context.attemptsMade + 1 >= JOBS[name].options.attempts;
    const fate = (error: unknown) => fateOf(error, lastTry);
    try {
      if (!isJobName(name)) throw new PermanentJobError(`unknown job "${name}"`);
      const parsed = JOBS[name].payload.safeParse(data);
      if (!parsed.success)
        throw new PermanentJobError(`job ${name} has an invalid payload: ${parsed.error.message}`);
      const handler = HANDLERS[name] as Handler<typeof name>;
      await handler({ ...deps, log }, parsed.data as never, {
        jobId: context.jobId,
        fate,
        signal: context.signal,
      });
    } catch (error) {
      const decided = fate(error);
      if (decided.kind === "wait") {
        log.warn({ waitMs: decided.ms, err: (error as Error).message }, "the job waits");
        annotate({ "drover.waits_ms": decided.ms });
        await context.delay(decided.ms);
      }
      if (decided.kind === "final") {
        await park(deps, log, { name, data, jobId: context.jobId, tries: context.attemptsMade + 1 }, decided);
        if (!(error instanceof PermanentJobError) && !lastTry) {
          // GitHub refused, or the task's config cannot be read: the queue must not try again.
          const permanent = new PermanentJobError(decided.reason);
          permanent.cause = error;
          throw permanent;
        }
      }
      throw error;
    }
  };
}

/**
 * Records a job that failed for good as a dead letter, so the watchdog leaves its work alone and
 * `drover status` shows it. A dead letter that cannot be written is logged: the job fails either way.
 */
async function park(
  deps: JobDeps,
  log: JobDeps["log"],
  job: { name: string; data: unknown; jobId: string; tries: number },
  fate: { reason: string },
): Promise<void> {
  const payload =
    typeof job.data === "object" && job.data !== null ? (job.data as Record<string, unknown>) : {};
  const deliveryId = typeof payload.deliveryId === "string" ? payload.deliveryId : null;
  try {
    await recordDeadLetter(deps.db, {
      jobId: job.jobId,
      jobName: job.name,
      payload,
      deliveryId,
      reason: fate.reason,
      attempts: job.tries,
    });
    log.error({ reason: fate.reason, tries: job.tries, deliveryId }, "job failed for good; parked");
  } catch (error) {
    log.error({ reason: fate.reason, err: error }, "job failed for good; its dead letter was not recorded");
  }
}

/**
 * Whether a failed job runs again, the one place that decides it. GitHub asked to wait, or another job
 * holds the issue: it waits, and the wait costs no try. GitHub refused the request (see
 * `classifyGitHubError`), the task's recorded config cannot be read, or the handler said nothing will
 * change: it fails for good. Anything else is tried again until the job's tries are used up.
 */
function fateOf(error: unknown, lastTry: boolean): JobFate {
  if (error instanceof IssueBusyError) return { kind: "wait", ms: ISSUE_BUSY_RETRY_MS };
  const github = classifyGitHubError(error);
  if (github?.kind === "rate-limited") return { kind: "wait", ms: github.waitMs };
  if (github?.kind === "refused") return { kind: "final", reason: github.message };
  if (error instanceof PermanentJobError || error instanceof UnreadableConfigError || lastTry)
    return { kind: "final", reason: error instanceof Error ? error.message : String(error) };
  return { kind: "retry" };
}
