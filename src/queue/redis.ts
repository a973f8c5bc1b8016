import { Redis } from "ioredis";
import { redactUrl } from "../lib/redact-url.ts";

export class RedisUnusableError extends Error {
  override name = "RedisUnusableError";
}

/** A connection BullMQ accepts for workers (no per-command retry limit: a worker waits out a Redis restart). */
export function connectRedis(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true });
}

/**
 * At start: Redis answers, and will not evict keys. An evicting Redis silently drops queued jobs and the
 * locks that stop two workers running one attempt, so Drover refuses to start on one.
 */
export async function assertRedisUsable(url: string): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 3000,
    retryStrategy: () => null,
  });
  redis.on("error", () => {});
  const where = redactUrl(url);
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    throw new RedisUnusableError(
      `Redis is not reachable at ${where}. Start it (e.g. redis-server --daemonize yes) or set REDIS_URL.`,
      { cause: error },
    );
  }
  try {
    const policy = await maxmemoryPolicy(redis);
    if (policy !== undefined && policy !== "noeviction") {
      throw new RedisUnusableError(
        `Redis at ${where} has maxmemory-policy ${policy}; Drover needs noeviction, or queued work can vanish. ` +
          `Run: redis-cli CONFIG SET maxmemory-policy noeviction (and set it in redis.conf).`,
      );
    }
  } finally {
    redis.disconnect();
  }
}

async function maxmemoryPolicy(redis: Redis): Promise<string | undefined> {
  try {
    const [, value] = (await redis.config("GET", "maxmemory-policy")) as [string, string];
    return value;
  } catch {
    // Managed Redis often disables CONFIG; INFO still reports the policy.
    const info = await redis.info("memory");
    return /maxmemory_policy:(\S+)/.exec(info)?.[1];
  }
}

/** Deletes every key of the queues under `prefix` (a throwaway namespace, such as the demo's). */
export async function deleteQueueKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}
