import type { DroverEnv } from "../config/env.ts";
import { enqueuer, type Enqueue } from "../queue/job-catalog.ts";
import { WorkQueue } from "../queue/queue.ts";
import { connectRedis } from "../queue/redis.ts";

/**
 * Drover's queue, for a command run where Drover runs (`retry`, `import-jsonl`, `spec` starting what they
 * made): opened, handed to `use`, closed. Checking that Redis answers is the caller's: each says
 * something different when it does not.
 */
export async function withOperatorQueue<T>(
  env: DroverEnv,
  use: (queue: WorkQueue, enqueue: Enqueue) => Promise<T>,
): Promise<T> {
  const redis = connectRedis(env.REDIS_URL);
  const queue = new WorkQueue(redis, env.DROVER_QUEUE_PREFIX, (error) =>
    process.stderr.write(`drover: queue error: ${error.message}\n`),
  );
  try {
    return await use(queue, enqueuer(queue));
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

/**
 * A line for stderr when no Drover worker takes jobs from this queue now, so "queued" is not read as
 * "running": the work waits for a worker on the same REDIS_URL and DROVER_QUEUE_PREFIX. Null when one does.
 */
export async function noWorkerNote(queue: WorkQueue, env: DroverEnv): Promise<string | null> {
  if ((await queue.agentCapacity()) !== undefined) return null;
  return (
    `drover: no Drover worker is taking jobs from this queue now (DROVER_QUEUE_PREFIX=${env.DROVER_QUEUE_PREFIX}): ` +
    "what was queued waits for one started with the same REDIS_URL and DROVER_QUEUE_PREFIX\n"
  );
}
