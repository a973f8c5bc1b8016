import type { Logger } from "pino";
import type { Db } from "../db/client.ts";
import { lapsedAttempts, pendingAttempts, unpublishedAttempts } from "../db/attempts.ts";
import { backOffRedispatched, claimRequeues, pruneRequeues } from "../db/requeues.ts";
import { enqueueEvery, jobIdOf, type Enqueue, type JobPayload } from "../queue/job-catalog.ts";
import type { WorkQueue } from "../queue/queue.ts";
import { requestSchedule } from "./request.ts";

/** Every this often each worker process requeues what PostgreSQL says is due (see requeuePending). */
export const WATCHDOG_EVERY_MS = 10_000;

/**
 * Every this often (and at worker start) GitHub is read again for what webhooks may have missed, unless
 * DROVER_RECONCILE_EVERY_MS says otherwise.
 */
export const RECONCILE_EVERY_MS = 10 * 60_000;

export type WatchdogDeps = {
  db: Db;
  enqueue: Enqueue;
  log: Logger;
  /** Queues again the jobs of deliveries recorded but not dispatched (intake's part); returns how many. */
  redispatch: () => Promise<number>;
};

/**
 * PostgreSQL → queue, run at worker start and every WATCHDOG_EVERY_MS: work that PostgreSQL says is due
 * but the queue may not hold (Redis lost it, or was down when a webhook came) is queued again. Job ids
 * make this a no-op for work the queue still has. Work that failed for good is parked (dead letters) and
 * left alone; each item's requeues back off (`REQUEUE_BACKOFF`, kept in PostgreSQL for every process), so
 * nothing is requeued in a tight loop. Returns how many of each were requeued.
 */
export async function requeuePending(
  deps: WatchdogDeps,
  { quiet = false } = {},
): Promise<{ deliveries: number; attempts: number; lapsed: number; unpublished: number }> {
  const passStart = new Date();
  const deliveries = await deps.redispatch();
  await backOffRedispatched(deps.db, passStart);
  const requeue = (jobs: Requeue[]) => requeueDue(deps, jobs);
  const attempts = await requeue(
    (await pendingAttempts(deps.db)).map((attempt) => ({
      name: "run-task",
      payload: { attemptId: attempt.id },
    })),
  );
  // A running attempt whose lease lapsed lost its worker (crash, kill -9, lost connection); its job may
  // be gone with Redis or kept as done, so a job of its own per lease epoch takes it over.
  const lapsed = await requeue(
    (await lapsedAttempts(deps.db)).map((attempt) => ({
      name: "run-task",
      payload: { attemptId: attempt.id, epoch: attempt.leaseEpoch },
    })),
  );
  // A finished attempt not yet shown on GitHub lost its publish job (same job id: a no-op while it waits).
  const unpublished = await requeue(
    (await unpublishedAttempts(deps.db)).map((attempt) => ({
      name: "publish",
      payload: { attemptId: attempt.id },
    })),
  );
  await pruneRequeues(deps.db);
  await requestSchedule(deps);
  const requeued = { deliveries, attempts, lapsed, unpublished };
  if (!quiet || requeued.deliveries + requeued.lapsed + requeued.unpublished > 0)
    deps.log.info(requeued, "pending work requeued");
  return requeued;
}

type Requeue =
  { name: "run-task"; payload: JobPayload<"run-task"> } | { name: "publish"; payload: JobPayload<"publish"> };

/** Queues those of `jobs` whose backoff is over (by job id); returns how many. */
async function requeueDue(deps: WatchdogDeps, jobs: Requeue[]): Promise<number> {
  const due = await claimRequeues(
    deps.db,
    jobs.map((job) => jobIdOf(job.name, job.payload)),
  );
  for (const job of jobs)
    if (due.has(jobIdOf(job.name, job.payload))) await deps.enqueue(job.name, job.payload);
  return due.size;
}

/**
 * The queue is rebuildable from PostgreSQL: at worker start and then every WATCHDOG_EVERY_MS, pending
 * work is queued again and the repeating reconcile job (every `reconcileEveryMs`, default
 * RECONCILE_EVERY_MS) is made sure of, so what Redis lost (a flush, a restart without persistence) or a
 * dead worker left is back within seconds. One pass at a time.
 */
export async function startWatchdog(
  deps: WatchdogDeps & { queue: WorkQueue; reconcileEveryMs?: number | undefined },
): Promise<{ stop: () => void }> {
  const reconcileEveryMs = deps.reconcileEveryMs ?? RECONCILE_EVERY_MS;
  const pass = async (quiet: boolean) => {
    await requeuePending(deps, { quiet });
    await enqueueEvery(deps.queue, "reconcile", reconcileEveryMs, { at: 0 });
  };
  await pass(false);
  let watching = false;
  const timer = setInterval(() => {
    if (watching) return;
    watching = true;
    pass(true)
      .catch((error: unknown) => deps.log.warn({ err: error }, "watchdog pass failed; retrying"))
      .finally(() => {
        watching = false;
      });
  }, WATCHDOG_EVERY_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
