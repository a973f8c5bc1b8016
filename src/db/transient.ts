import { setTimeout as sleep } from "node:timers/promises";

/**
 * Errors that mean PostgreSQL is briefly out of reach (restarting, failing over, a dropped connection),
 * not that the query is wrong: worth trying again in a moment. Drizzle wraps the driver's error as
 * `cause`.
 */
const TRANSIENT_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now (starting up, shutting down)
  "08000", // connection_exception
  "08001",
  "08003",
  "08006",
]);

export function isTransientDbError(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && TRANSIENT_CODES.has(code)) return true;
  }
  return false;
}

/**
 * The driver (postgres.js 3.4) can throw from a timer when a connection closes under a pending write
 * (porsager/postgres#1066): nothing is lost (the query fails and is retried), but left alone it would end
 * the process.
 */
export function isPostgresDriverGlitch(error: unknown): boolean {
  return (
    error instanceof TypeError &&
    /[\\/]postgres[\\/](?:cjs[\\/])?src[\\/]connection\.js/.test(error.stack ?? "")
  );
}

/**
 * Runs `work`, trying again while PostgreSQL is out of reach, for up to `forMs`; then (or on any other
 * error) throws what it threw.
 */
export async function retryTransient<T>(
  work: () => Promise<T>,
  { forMs = 5_000, everyMs = 200 }: { forMs?: number; everyMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + forMs;
  for (;;) {
    try {
      return await work();
    } catch (error) {
      if (!isTransientDbError(error) || Date.now() + everyMs > deadline) throw error;
      await sleep(everyMs);
    }
  }
}
