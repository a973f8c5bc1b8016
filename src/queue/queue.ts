import { setTimeout as sleep } from "node:timers/promises";
import { DelayedError, Job, Queue, UnrecoverableError, Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "pino";

/**
 * Three lanes, so that slow work never holds up the quick jobs (intake, publishing) behind it: agent runs
 * (minutes each) in `agents`, and keeping mirrors and pools of ready worktrees warm (a clone, a repository's
 * `setup`: minutes too) in `warm`, which also takes no agent slot. Each lane has its own BullMQ queue and its
 * own concurrency in every worker process.
 */
export const LANES = { main: "drover", agents: "drover-agents", warm: "drover-warm" } as const;
export type Lane = keyof typeof LANES;

/**
 * How BullMQ runs one kind of job. Job data never holds secrets: only ids that point into PostgreSQL.
 * `singleFlight`: the job id is reused, so at most one such job waits or runs at a time, and a finished
 * one is removed at once so the next request can queue it again.
 */
export type JobOptions = {
  lane: Lane;
  attempts: number;
  backoffMs: number;
  singleFlight?: boolean;
  /** Keep the job when it completes until it is removed (for the readiness canary). */
  keep?: boolean;
  /** Run it no sooner than this long from now. */
  delayMs?: number;
  /**
   * Run it after the lane's jobs queued without one (BullMQ takes those first), lowest first: for bulk work
   * that must not hold up the lane's own (the mirrors of a whole organisation, just installed).
   */
  priority?: number;
};

export type ProcessJob = (
  name: string,
  data: unknown,
  context: {
    jobId: string;
    attemptsMade: number;
    signal: AbortSignal | undefined;
    /** Puts the job back to run again after `ms`, without counting a try (e.g. GitHub said to wait). */
    delay: (ms: number) => Promise<never>;
  },
) => Promise<void>;

/** One lane as `/metrics` shows it (see `WorkQueue.lanes`). */
export type LaneFigures = {
  lane: Lane;
  waiting: number;
  active: number;
  delayed: number;
  oldestWaitingAt: number | null;
};

/** The only place Drover puts work on the queue. */
export class WorkQueue {
  readonly #queues: Record<Lane, Queue>;
  readonly #connection: Redis;
  /** The deployment's key prefix (DROVER_QUEUE_PREFIX): figures kept beside the queues go under it too. */
  readonly prefix: string;

  /**
   * `onError`: what the queues report of their own (a Redis error while they start, say). A queue with no
   * listener would throw it from inside BullMQ, where nothing catches it.
   */
  constructor(connection: Redis, prefix: string, onError: (error: Error) => void) {
    this.#connection = connection;
    this.prefix = prefix;
    this.#queues = {
      main: new Queue(LANES.main, { connection, prefix }),
      agents: new Queue(LANES.agents, { connection, prefix }),
      warm: new Queue(LANES.warm, { connection, prefix }),
    };
    for (const queue of Object.values(this.#queues)) queue.on("error", onError);
  }

  /**
   * Adds a job; a job with the same id that is still waiting, running or kept is not added twice, which is
   * what makes enqueueing from a retried webhook or a reconcile pass safe.
   */
  async add(name: string, data: object, jobId: string, options: JobOptions): Promise<void> {
    await this.#queues[options.lane].add(name, data, {
      jobId,
      ...(options.delayMs ? { delay: options.delayMs } : {}),
      ...(options.priority ? { priority: options.priority } : {}),
      attempts: options.attempts,
      backoff: { type: "exponential", delay: options.backoffMs },
      removeOnComplete: options.keep ? false : options.singleFlight ? true : { age: 3600, count: 1000 },
      removeOnFail: options.singleFlight ? true : { age: 24 * 3600 },
    });
  }

  /** Runs a job every `everyMs` (one schedule per `schedulerId`, however many processes ask). */
  async every(
    schedulerId: string,
    everyMs: number,
    name: string,
    data: object,
    options: JobOptions,
  ): Promise<void> {
    await this.#queues[options.lane].upsertJobScheduler(
      schedulerId,
      { every: everyMs },
      {
        name,
        data,
        opts: { attempts: options.attempts, removeOnComplete: true, removeOnFail: { age: 24 * 3600 } },
      },
    );
  }

  /** A job's state ("waiting", "active", "completed", "failed", ... or "unknown" when there is none). */
  async state(lane: Lane, jobId: string): Promise<string> {
    return this.#queues[lane].getJobState(jobId);
  }

  async remove(lane: Lane, jobId: string): Promise<void> {
    await this.#queues[lane].remove(jobId);
  }

  /**
   * Jobs not yet finished, by state: for status output and tests. Jobs queued with a priority wait in a
   * set of their own (BullMQ's "prioritized"): counted as waiting, which they are.
   */
  async counts(): Promise<Record<string, number>> {
    const total: Record<string, number> = {};
    for (const queue of Object.values(this.#queues)) {
      const counts = await queue.getJobCounts(
        "wait",
        "prioritized",
        "active",
        "delayed",
        "completed",
        "failed",
      );
      const { prioritized = 0, ...rest } = counts;
      rest.wait = (rest.wait ?? 0) + prioritized;
      for (const [state, n] of Object.entries(rest)) total[state] = (total[state] ?? 0) + n;
    }
    return total;
  }

  /**
   * Agent runs the connected worker processes can take at once: each names its agents-lane worker after
   * its concurrency. Undefined when Redis does not report client names (some managed services).
   */
  async agentCapacity(): Promise<number | undefined> {
    const clients = await this.#queues.agents.getWorkers().catch(() => []);
    // BullMQ lists each client with `name` set to the queue's name and the client's own as `rawname`.
    const slots = clients
      .map((client) => /:w:agents-(\d+)$/.exec(client.rawname ?? client.name ?? "")?.[1])
      .filter(Boolean);
    return slots.length === 0 ? undefined : slots.reduce((sum, n) => sum + Number(n), 0);
  }

  /**
   * Each lane's jobs waiting (prioritized ones included), running and delayed, and when the oldest waiting
   * one was queued (ms since the epoch; null when none waits): for `/metrics`.
   */
  async lanes(): Promise<LaneFigures[]> {
    return Promise.all(
      (Object.keys(this.#queues) as Lane[]).map(async (lane) => {
        const queue = this.#queues[lane];
        const counts = await queue.getJobCounts("wait", "prioritized", "active", "delayed");
        // The wait list's far end is its oldest job; prioritized jobs are ordered by priority, not age, so
        // the first few are looked at (a lane's prioritized jobs are bulk work, queued together).
        const [oldest] = await queue.getJobs(["wait"], 0, 0, true);
        const prioritized =
          (counts.prioritized ?? 0) > 0 ? await queue.getJobs(["prioritized"], 0, 49, true) : [];
        const queuedAt = [oldest, ...prioritized].flatMap((job) => (job ? [job.timestamp] : []));
        return {
          lane,
          waiting: (counts.wait ?? 0) + (counts.prioritized ?? 0),
          active: counts.active ?? 0,
          delayed: counts.delayed ?? 0,
          oldestWaitingAt: queuedAt.length === 0 ? null : Math.min(...queuedAt),
        };
      }),
    );
  }

  /** The Redis connection the queues use, for figures kept beside them (the shared GitHub request counts). */
  get connection(): Redis {
    return this.#connection;
  }

  /** Jobs that failed for good, with the reason: for status output and tests. */
  async failures(): Promise<{ name: string; id: string; reason: string }[]> {
    const jobs = (await Promise.all(Object.values(this.#queues).map((queue) => queue.getFailed()))).flat();
    return jobs.map((job) => ({ name: job.name, id: job.id ?? "", reason: job.failedReason }));
  }

  /**
   * Closes the queues. One closed while its connection is still starting leaves BullMQ's start-up to
   * fail where nothing observes it (an unhandled rejection), so each is given up to `readyMs` to finish
   * starting first.
   */
  async close(readyMs = 2_000): Promise<void> {
    const queues = Object.values(this.#queues);
    await Promise.race([
      Promise.all(queues.map((queue) => queue.waitUntilReady().catch(() => {}))),
      sleep(readyMs, undefined, { ref: false }),
    ]);
    await Promise.all(queues.map((queue) => queue.close()));
  }
}

/** Whether a job's error is its being put back to run later (`delay`), which is not a failure. */
export function isPutBack(error: unknown): boolean {
  return error instanceof DelayedError;
}

/** A job that must not be retried (bad payload, a state that will not change by waiting). */
export class PermanentJobError extends UnrecoverableError {
  override name = "PermanentJobError";
}

/** Quick jobs (intake, publishing) one worker process runs at once, besides its agent runs. */
export const MAIN_LANE_CONCURRENCY = 4;

/**
 * Warm-pool jobs one worker process runs at once: one, since they share the machine's disk and cores with
 * the agents (a clone, a repository's `setup`), and one repository's are serialised anyway.
 */
export const WARM_LANE_CONCURRENCY = 1;

/** How many jobs of `lane` one worker process runs at once; `agents`: its agent runs. */
export function laneConcurrency(lane: Lane, agents: number): number {
  return lane === "agents" ? agents : lane === "warm" ? WARM_LANE_CONCURRENCY : MAIN_LANE_CONCURRENCY;
}

/** The reason a job's signal carries when its worker process is shutting down (SIGTERM). */
export const SHUTDOWN = "shutdown";
/** The reason a job's signal carries when its worker lost the job's lock (it stalled past lockDuration). */
export const LOCK_LOST = "lock lost";

export type LaneWorkers = {
  workers: Worker[];
  /** Stops taking jobs, cancels the running ones (their signals abort with SHUTDOWN) and waits for them. */
  close: () => Promise<void>;
};

/** Starts one BullMQ worker per lane; `agents` is how many agent runs this process takes at once. */
export function startWorkers(options: {
  connection: Redis;
  prefix?: string;
  agents: number;
  /** How long the worker's task leases last (DROVER_LEASE_MS); the job locks are set from it. */
  leaseMs: number;
  process: ProcessJob;
  log: Logger;
}): LaneWorkers {
  const workers = (Object.keys(LANES) as Lane[]).map((lane) =>
    startWorker({
      ...options,
      lane,
      concurrency: laneConcurrency(lane, options.agents),
    }),
  );
  return {
    workers,
    close: async () => {
      const closing = workers.map((worker) => worker.close());
      for (const worker of workers) worker.cancelAllJobs(SHUTDOWN);
      await Promise.all(closing);
    },
  };
}

function startWorker(options: {
  lane: Lane;
  connection: Redis;
  prefix?: string;
  concurrency: number;
  leaseMs: number;
  process: ProcessJob;
  log: Logger;
}): Worker {
  const { leaseMs } = options;
  const worker = new Worker(
    LANES[options.lane],
    async (job: Job, token?: string, signal?: AbortSignal) => {
      await options.process(job.name, job.data, {
        jobId: job.id ?? "",
        attemptsMade: job.attemptsMade,
        signal,
        delay: async (ms) => {
          await job.moveToDelayed(Date.now() + ms, token);
          throw new DelayedError();
        },
      });
    },
    {
      connection: options.connection,
      prefix: options.prefix ?? "drover",
      concurrency: options.concurrency,
      name: `${options.lane}-${options.concurrency}`,
      // The lock is renewed every lockDuration/2 while the process lives; a killed worker's job is found
      // stalled within lockDuration + stalledInterval (twice the lease: 30 s by default) and handed to
      // another worker, by when its lease has lapsed. PostgreSQL's lease (attempts.lease_expires_at)
      // decides who may act; this only decides who gets the job.
      lockDuration: Math.round((leaseMs * 4) / 3),
      stalledInterval: Math.round((leaseMs * 2) / 3),
      maxStalledCount: 2,
    },
  );
  // A lock that could not be renewed: the job stalled and may be another worker's now, so it stops (its
  // attempt is handed back). A job the queue no longer holds at all (Redis flushed, or restarted empty) is
  // nobody else's: it runs on under its PostgreSQL lease, and what it queues next is queued afresh.
  // `lost`: running jobs the queue no longer holds; `failing`: those whose lock this worker could not renew
  // (what became of it is said once below, not again by each renewal error). Both forget a job when a
  // run of it starts again (ids such as `schedule` or `publish-<attempt>` come back).
  const lost = new Set<string>();
  const failing = new Set<string>();
  worker.on("active", (job) => {
    lost.delete(job.id ?? "");
    failing.delete(job.id ?? "");
  });
  worker.on("lockRenewalFailed", (jobIds) => {
    for (const id of jobIds) {
      if (failing.has(id)) continue;
      failing.add(id);
      void Job.fromId(worker, id).then(
        (job) => {
          if (job) return worker.cancelJob(id, LOCK_LOST);
          lost.add(id);
          options.log.warn({ jobId: id }, "the queue lost this running job; it runs on under its lease");
        },
        () => worker.cancelJob(id, LOCK_LOST),
      );
    }
  });

  worker.on("failed", (job, error) => {
    options.log.warn({ jobId: job?.id, job: job?.name, err: error }, "job failed");
  });
  worker.on("error", (error) => {
    // A failed renewal is said once above; a lost job's end cannot be written back either.
    const renewal = /^could not renew lock for job (\S+)$/.exec(error.message)?.[1];
    const end = /^Missing (?:key|lock) for job (\S+)\. /.exec(error.message)?.[1];
    if ((renewal !== undefined && failing.has(renewal)) || (end !== undefined && lost.has(end))) return;
    options.log.error({ err: error }, "worker error");
  });
  return worker;
}
