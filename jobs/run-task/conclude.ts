import type { DroverConfig } from "../../src/config/schema.ts";
import { readStart } from "../../src/db/attempt-start.ts";
import { concludeAttempt, concludeStopped, workAttemptsUpTo } from "../../src/db/attempts.ts";
import { failpoint } from "../../src/lib/failpoint.ts";
import { taskMoveAfter } from "../../src/scheduler/retry.ts";
import type { JobDeps } from "../deps.ts";
import { requestSchedule } from "../../src/scheduler/request.ts";
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
  outcome: Outcome,
): Promise<void> {
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
  await requestSchedule(deps);
}

async function concludeMoving(
  deps: JobDeps,
  run: Pick<Run, "task" | "lease"> & {
    config: DroverConfig | undefined;
    attempt?: Pick<Run["attempt"], "start">;
  },
  outcome: Outcome,
): Promise<boolean> {
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
  return concludeAttempt(
    deps.db,
    run.lease,
    { ...fields, conclusion: judgement.conclusion, reason: judgement.reason, summary: judgement.summary },
    move,
  );
}
