import { setTimeout as sleep } from "node:timers/promises";
import { stopOrphans } from "../../src/agent/orphans.ts";
import { taskConfig } from "../../src/config/stored.ts";
import {
  claimAttempt,
  getStep,
  lapseLease,
  leaseMsOf,
  renewLease,
  stopOf,
  type Claim,
  type Lease,
} from "../../src/db/attempts.ts";
import { getRepository } from "../../src/db/repositories.ts";
import { LOCK_LOST, PermanentJobError, SHUTDOWN } from "../../src/queue/queue.ts";
import { requestSchedule } from "../../src/scheduler/request.ts";
import type { JobContext, JobDeps } from "../deps.ts";
import { conclude } from "./conclude.ts";
import { failed, STEPS, type Run } from "./run.ts";
import { stoppedOutcome } from "./stop.ts";

/**
 * Step 1: the lease. Claims the attempt (waiting while another worker's live lease on it runs out), and
 * after a takeover stops the agents the dead worker left running here. Undefined when there is nothing
 * to do: the attempt finished, or its task moved on before it ran (closed, cancelled, restarted), or a
 * person stopped its task while its worker was gone (the attempt is concluded as stopped), or the config
 * it was triggered with cannot be read (the attempt is concluded as failed, with why).
 */
export async function takeLease(
  deps: JobDeps,
  attemptId: number,
  signal: AbortSignal | undefined,
): Promise<Run | undefined> {
  const claim = await claimWhenFree(deps, attemptId, signal);
  // The task's next attempt waited for this one: a scheduling pass may queue it now.
  if (claim.kind === "abandoned") await requestSchedule(deps);
  if (claim.kind !== "claimed" && claim.kind !== "stopped") return undefined;
  const { task, attempt, lease } = claim;
  const repository = await getRepository(deps.db, task.repoId);
  if (!repository)
    throw new PermanentJobError(`repository ${task.repoId} of task ${task.id} is not recorded`);
  const log = deps.log.child({ taskId: task.id, attempt: attempt.number, repo: repository.fullName });
  let config;
  try {
    config = taskConfig(task);
  } catch (error) {
    // No try would read it better: the attempt fails now, saying why, instead of hanging in `running`.
    log.error({ err: error }, "attempt failed for good");
    const reason = `Drover could not run the task: ${(error as Error).message}`;
    await conclude(deps, { task, lease, repository, config: undefined }, failed(reason, { final: true }));
    return undefined;
  }
  const run = { task, attempt, lease, repository, config, log };
  if (lease.epoch > 1) await stopEarlierAgents(deps, run);
  if (claim.kind === "stopped") {
    await concludeStoppedTakeover(deps, run);
    return undefined;
  }
  return run;
}

/**
 * A person stopped the task while the attempt's worker was gone (it died, or handed the attempt back
 * mid-stop): its agent is stopped (above), and the attempt ends as stopped, with its work on the branch
 * when the worker pushed it before it went.
 */
async function concludeStoppedTakeover(deps: JobDeps, run: Run): Promise<void> {
  const pushed = await getStep(deps.db, run.attempt.id, STEPS.push.name, STEPS.push.schema);
  const kept = pushed
    ? `its work so far is on \`${pushed.branch}\` at ${pushed.sha.slice(0, 12)}`
    : "its worker stopped before its work could be pushed";
  run.log.info(
    { pushed: pushed?.sha },
    "concluding an attempt whose task was stopped while its worker was gone",
  );
  await conclude(deps, run, stoppedOutcome(stopOf(run.task), kept));
}

/** A job delivered twice, or requeued after a crash before the dead worker's lease lapsed, waits (bounded). */
async function claimWhenFree(
  deps: JobDeps,
  attemptId: number,
  signal: AbortSignal | undefined,
): Promise<Claim> {
  const leaseMs = leaseMsOf(deps.env);
  const deadline = Date.now() + 3 * leaseMs;
  for (;;) {
    const claim = await claimAttempt(deps.db, attemptId, deps.workerId, leaseMs);
    if (claim.kind !== "busy" || Date.now() + claim.retryInMs > deadline || signal?.aborted) return claim;
    await sleep(claim.retryInMs, undefined, signal ? { signal } : {}).catch(() => undefined);
  }
}

async function stopEarlierAgents(deps: JobDeps, run: Run): Promise<void> {
  const spawned = [];
  for (let epoch = 1; epoch < run.lease.epoch; epoch++) {
    const step = STEPS.agentProcess(epoch);
    const agent = await getStep(deps.db, run.attempt.id, step.name, step.schema);
    if (agent) spawned.push(agent);
  }
  for (const { pid } of stopOrphans(spawned))
    run.log.warn({ pid }, "stopped an agent left running by a crashed worker");
}

/** Renews the lease every third of its length until `release`; `lost` aborts once renewal fails. */
export function holdLease(deps: JobDeps, run: Run) {
  const controller = new AbortController();
  const leaseMs = leaseMsOf(deps.env);
  const timer = setInterval(() => {
    renewLease(deps.db, run.lease, leaseMs).then(
      (held) => {
        if (held) return;
        run.log.warn("lease lost: another worker took the attempt over");
        controller.abort(new Error("lease lost"));
        clearInterval(timer);
      },
      (error: unknown) => run.log.warn({ err: error }, "lease renewal failed; trying again"),
    );
  }, leaseMs / 3);
  timer.unref();
  return { lost: controller.signal, release: () => clearInterval(timer) };
}

/**
 * The worker is shutting down (SIGTERM), or lost the job's lock (it stalled, and the queue gives the job
 * to another worker): the agent was stopped, and the attempt is handed back (its lease lapses now)
 * instead of being judged, so another worker, or this one restarted, runs it again.
 */
export async function interrupted(
  deps: JobDeps,
  lease: Lease,
  context: JobContext,
  log: JobDeps["log"],
): Promise<boolean> {
  const reason = context.signal?.reason;
  if (reason !== SHUTDOWN && reason !== LOCK_LOST) return false;
  await lapseLease(deps.db, lease, reason);
  log.info({ reason }, "attempt handed back to run again");
  return true;
}
