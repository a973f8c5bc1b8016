import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { localServices } from "../../src/demo/local-services.ts";
import { newAppKey } from "./app-key.ts";
import { assertServicesReachable, TEST_DATABASE_URL, TEST_REDIS_URL } from "./services.ts";

/**
 * PostgreSQL and Redis for the test files: those named by TEST_DATABASE_URL and TEST_REDIS_URL, or this
 * machine's; when nothing answers at the defaults, an embedded PostgreSQL and a redis-server from the
 * PATH, under a temporary directory, stopped when the run ends. Their URLs reach the test processes
 * through the same variables. Fails the run early, with one clear line, when neither way works.
 */
/** Set once the services are up: each project that uses them (integration, services) runs this setup. */
const READY = "DROVER_TEST_SERVICES_READY";

export default async function setup(): Promise<() => Promise<void>> {
  if (process.env[READY]) return async () => {};
  const home = await mkdtemp(path.join(os.tmpdir(), "drover-test-services-"));
  // Under root the embedded PostgreSQL runs as nobody, who must be able to enter its directory.
  await chmod(home, 0o755);
  const services = await localServices({
    databaseUrl: TEST_DATABASE_URL,
    redisUrl: TEST_REDIS_URL,
    databaseNamed: process.env.TEST_DATABASE_URL !== undefined,
    redisNamed: process.env.TEST_REDIS_URL !== undefined,
    home,
    names: { database: "TEST_DATABASE_URL", redis: "TEST_REDIS_URL" },
    say: (line) => process.stderr.write(`[services] ${line}\n`),
  }).catch(async (error: unknown) => {
    await rm(home, { recursive: true, force: true });
    throw error;
  });
  const teardown = async () => {
    await services.stop();
    await rm(home, { recursive: true, force: true });
  };
  process.env.TEST_DATABASE_URL = services.databaseUrl;
  // One App key for every test file (test/helpers/drover.ts), instead of one made by each.
  process.env.TEST_APP_PRIVATE_KEY ??= newAppKey();
  process.env.TEST_REDIS_URL = services.redisUrl;
  // A run that stops here gets no teardown from vitest: what was started is stopped before saying why.
  await assertServicesReachable(services.databaseUrl, services.redisUrl).catch(async (error: unknown) => {
    await teardown();
    throw error;
  });
  process.env[READY] = "1";
  return teardown;
}
