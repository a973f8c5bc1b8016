import { Queue, UnrecoverableError, Worker, type Job } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "pino";

export const QUEUE_NAME = "drover";

/** How BullMQ retries one kind of job. Job data never holds secrets: only ids that point into PostgreSQL. */
export type JobOptions = { attempts: number; backoffMs: number };

export type ProcessJob = (
  name: string,
  data: unknown,
  context: { jobId: string; attemptsMade: number; signal: AbortSignal | undefined },
) => Promise<void>;

/** The only place Drover puts work on the queue. */
export class WorkQueue {
  readonly #queue: Queue;

  constructor(connection: Redis, prefix = "drover") {
    this.#queue = new Queue(QUEUE_NAME, { connection, prefix });
  }

  /**
   * Adds a job; a job with the same id that is still waiting, running or kept is not added twice, which is
   * what makes enqueueing from a retried webhook or a reconcile pass safe.
   */
  async add(name: string, data: object, jobId: string, options: JobOptions): Promise<void> {
    await this.#queue.add(name, data, {
      jobId,
      attempts: options.attempts,
      backoff: { type: "exponential", delay: options.backoffMs },
      removeOnComplete: { age: 3600, count: 1000 },
      removeOnFail: { age: 24 * 3600 },
    });
  }

  /** Jobs not yet finished, by state: for status output and tests. */
  async counts(): Promise<Record<string, number>> {
    return this.#queue.getJobCounts("wait", "active", "delayed", "completed", "failed");
  }

  /** Jobs that failed for good, with the reason: for status output and tests. */
  async failures(): Promise<{ name: string; id: string; reason: string }[]> {
    const jobs = await this.#queue.getFailed();
    return jobs.map((job) => ({ name: job.name, id: job.id ?? "", reason: job.failedReason }));
  }

  async close(): Promise<void> {
    await this.#queue.close();
  }
}

/** A job that must not be retried (bad payload, a state that will not change by waiting). */
export class PermanentJobError extends UnrecoverableError {
  override name = "PermanentJobError";
}

export function startWorker(options: {
  connection: Redis;
  prefix?: string;
  concurrency: number;
  process: ProcessJob;
  log: Logger;
}): Worker {
  const worker = new Worker(
    QUEUE_NAME,
    async (job: Job, _token?: string, signal?: AbortSignal) => {
      await options.process(job.name, job.data, {
        jobId: job.id ?? "",
        attemptsMade: job.attemptsMade,
        signal,
      });
    },
    {
      connection: options.connection,
      prefix: options.prefix ?? "drover",
      concurrency: options.concurrency,
      // Agent runs are long; the lock is renewed every lockDuration/2 while the process is alive.
      lockDuration: 60_000,
      maxStalledCount: 2,
    },
  );
  worker.on("failed", (job, error) => {
    options.log.warn({ jobId: job?.id, job: job?.name, err: error }, "job failed");
  });
  worker.on("error", (error) => options.log.error({ err: error }, "worker error"));
  return worker;
}
