import { defaultDatabaseUrl } from "../../src/config/env.ts";
import { answers } from "../../src/demo/server-process.ts";

/**
 * Where the tests find PostgreSQL and Redis: TEST_DATABASE_URL and TEST_REDIS_URL when set; otherwise
 * this machine's defaults (PostgreSQL at PGHOST/PGPORT as libpq reads them, else 127.0.0.1:5432). When
 * nothing answers there, global-setup.ts starts an embedded PostgreSQL and a redis-server and sets both
 * variables for the test processes.
 */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? defaultTestDatabaseUrl();
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

function defaultTestDatabaseUrl(): string {
  const fallback = defaultDatabaseUrl(process.env);
  if ("error" in fallback) throw new Error(`TEST_DATABASE_URL is unset, and ${fallback.error}`);
  const url = new URL(fallback.url);
  url.pathname = "/postgres";
  return url.toString();
}

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return answers(hostname, Number(port || defaultPort), 2000);
}

export async function assertServicesReachable(
  databaseUrl = TEST_DATABASE_URL,
  redisUrl = TEST_REDIS_URL,
): Promise<void> {
  if (!(await reachable(databaseUrl, 5432))) {
    throw new Error(
      `PostgreSQL is not reachable at ${databaseUrl}; start it (see README, "Running the tests").`,
    );
  }
  if (!(await reachable(redisUrl, 6379))) {
    throw new Error(`Redis is not reachable at ${redisUrl}; start it (see README, "Running the tests").`);
  }
}
