import type { DroverConfig } from "../../src/config/schema.ts";
import { readStart } from "../../src/db/attempt-start.ts";
import { concludeAttempt, concludeStopped, workAttemptsUpTo } from "../../src/db/attempts.ts";
import { failpoint } from "../../src/lib/failpoint.ts";
import { taskMoveAfter } from "../../src/scheduler/retry.ts";
import type { JobDeps } from "../deps.ts";
import { requestSchedule } from "../../src/scheduler/request.ts";
import { homePaths, relativizeOutcome } from "./paths.ts";
import type { Outcome, Run } from "./run.ts";

/**
 * The last step: records the outcome and moves the task on (one transaction, only if the lease still
 * holds), as the retry policy says, then hands over to publish. Should this worker die before queueing
 * publish, the watchdog queues it. Without a readable config the outcome is final: no retry. An attempt
 * a person stopped leaves the task where they put it; a scheduling pass may then queue its next attempt,
 * which waited for this one to finish.
 */
export async function conclude(
  deps: JobDeps,
  run: Pick<Run, "task" | "lease" | "repository"> & {
    config: DroverConfig | undefined;
    attempt?: Pick<Run["attempt"], "start">;
  },
  ended: Outcome,
): Promise<void> {
  // What is recorded here is what GitHub is shown: an error's message may name DROVER_HOME (a mirror's
  // path in a git error, say), which no issue or check run shows.
  const outcome = relativizeOutcome(ended, await homePaths(deps.env.DROVER_HOME));
  const { judgement, fields } = outcome;
  const recorded = outcome.stopped
    ? await concludeStopped(deps.db, run.lease, {
        ...fields,
        conclusion: judgement.conclusion,
        reason: judgement.reason,
        summary: judgement.summary,
      })
    : await concludeMoving(deps, run, outcome);
  if (!recorded) return; // another worker holds the attempt now; it will conclude it
  failpoint("after-conclude", run.repository.fullName);
  await deps.enqueue("publish", { attemptId: run.lease.attemptId });
  if (typeof recorded === "object") await queueRetry(deps, run.task.id, recorded.nextAttemptAt);
  await requestSchedule(deps);
}

/**
 * The task's next attempt, due at `at`: a job of its own releases it then, so it starts at the time the
 * status comment says. Should it be lost (Redis flushed, this worker dead before queueing it), the
 * watchdog's scheduling pass every few seconds releases the task instead.
 */
async function queueRetry(deps: JobDeps, taskId: number, at: Date): Promise<void> {
  const payload = { taskId, at: at.getTime() };
  await deps.enqueue("retry-due", payload, { delayMs: Math.max(0, at.getTime() - Date.now()) });
}

/**
 * The outcome recorded and the task moved on: true, or the time of its next attempt when it moved to
 * `retrying`; false when another worker holds the attempt now.
 */
async function concludeMoving(
  deps: JobDeps,
  run: Pick<Run, "task" | "lease"> & {
    config: DroverConfig | undefined;
    attempt?: Pick<Run["attempt"], "start">;
  },
  outcome: Outcome,
): Promise<boolean | { nextAttemptAt: Date }> {
  const { judgement, fields } = outcome;
  const attemptNumber = await workAttemptsUpTo(deps.db, run.task.id, run.task.attemptCount);
  const move = taskMoveAfter(
    {
      ...judgement,
      final: outcome.final === true || run.config === undefined,
      startedFrom: readStart(run.attempt?.start),
    },
    {
      attemptNumber,
      maxAttempts: run.config?.max_attempts ?? attemptNumber,
      retryDelayMs: run.config?.retry_delay ?? 0,
      now: Date.now(),
      random: Math.random(),
    },
  );
  const recorded = await concludeAttempt(
    deps.db,
    run.lease,
    { ...fields, conclusion: judgement.conclusion, reason: judgement.reason, summary: judgement.summary },
    move,
  );
  const { nextAttemptAt } = move.fields;
  return recorded && move.to === "retrying" && nextAttemptAt instanceof Date ? { nextAttemptAt } : recorded;
}
