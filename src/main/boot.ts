import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import pino, { type Logger } from "pino";
import { Probot } from "probot";
import { processJob } from "../../jobs/process-job.ts";
import { droverWeb } from "../app.ts";
import { leaseMsOf } from "../db/attempts.ts";
import { EventFeed } from "../db/event-feed.ts";
import { webRoutes } from "../web/routes.ts";
import type { DroverEnv } from "../config/env.ts";
import { openDatabase, type Database } from "../db/client.ts";
import { DatabaseUnreachableError, migrateDatabase } from "../db/migrate.ts";
import { isPostgresDriverGlitch, isTransientDbError } from "../db/transient.ts";
import { GitHubApp } from "../github/app.ts";
import { redispatchUnfinished } from "../intake/receive.ts";
import { canaryRoundTrip, enqueuer, type Enqueue } from "../queue/job-catalog.ts";
import {
  MAIN_LANE_CONCURRENCY,
  WARM_LANE_CONCURRENCY,
  WorkQueue,
  startWorkers as startLaneWorkers,
} from "../queue/queue.ts";
import { assertRedisUsable, connectRedis, RedisUnusableError } from "../queue/redis.ts";
import { startWatchdog } from "../scheduler/watchdog.ts";
import { startNotifier } from "../scheduler/notifier.ts";
import type { AppCredentials } from "./credentials.ts";
import { exit, notifyTargets } from "./env.ts";

// What every entry point reads first, kept in a module of its own so `drover help` and a command's
// argument errors need not load Probot and the jobs.
export { environment, exit, loadDotEnv } from "./env.ts";
// The credentials too, in a module of their own so `installation.ts` need not load this wiring.
export { appCredentials, type AppCredentials } from "./credentials.ts";

/** Wiring shared by the entry points. No decisions about tasks live here. */

export type Services = {
  env: DroverEnv;
  log: Logger;
  database: Database;
  queue: WorkQueue;
  enqueue: Enqueue;
  close: () => Promise<void>;
};

export function createLogger(): Logger {
  return pino({ name: "drover", level: process.env.LOG_LEVEL ?? "info" });
}

/**
 * Connections a process keeps to PostgreSQL. A job holding an advisory lock (an issue's, or what Drover last
 * wrote on it, src/db/issue-lock.ts) keeps one connection for it and needs another for its work, and a
 * main-lane job can hold both locks at once: with fewer connections than the jobs of both lanes can hold,
 * every connection is held by a job waiting for one, and the worker stops (8 agent slots and 4 main-lane
 * jobs did, on a pool of 10). So: two for every job the main and agents lanes run at once, one for each
 * warm-pool job (it takes no advisory lock: one query at a time, between its git work), and two to spare.
 */
export function poolSize(agentSlots: number): number {
  return 2 * (MAIN_LANE_CONCURRENCY + agentSlots) + WARM_LANE_CONCURRENCY + 2;
}

/** PostgreSQL (migrated) and Redis (checked), or one line saying what is wrong and exit 1. */
export async function openServices(env: DroverEnv, log: Logger): Promise<Services> {
  surviveDatabaseRestarts(log);
  try {
    await migrateDatabase(env.DATABASE_URL);
    await assertRedisUsable(env.REDIS_URL);
  } catch (error) {
    if (error instanceof DatabaseUnreachableError || error instanceof RedisUnusableError) exit(error.message);
    throw error;
  }
  const database = openDatabase(env.DATABASE_URL, { max: poolSize(env.DROVER_WORKERS) });
  const redis = connectRedis(env.REDIS_URL);
  redis.on("error", (error) => log.warn({ err: error.message }, "redis connection error"));
  const queue = new WorkQueue(redis, env.DROVER_QUEUE_PREFIX, (error) =>
    log.warn({ err: error.message }, "queue error"),
  );
  return {
    env,
    log,
    database,
    queue,
    enqueue: enqueuer(queue),
    close: async () => {
      await queue.close();
      redis.disconnect();
      await database.close();
    },
  };
}

let guarded = false;

/**
 * PostgreSQL restarting must not end the process: a query in flight fails (its job is retried), and the
 * pool reconnects. Two things the driver does on a dropped connection would otherwise kill it: a
 * rejection nobody awaited (the connection's own), and a TypeError thrown from one of its timers. Any other
 * uncaught error is logged and ends the process, as Node would.
 */
function surviveDatabaseRestarts(log: Logger): void {
  if (guarded) return;
  guarded = true;
  process.on("unhandledRejection", (reason) => {
    if (isTransientDbError(reason)) {
      log.warn({ err: reason }, "PostgreSQL connection lost; reconnecting");
      return;
    }
    log.fatal({ err: reason }, "unhandled promise rejection; exiting");
    process.exit(1);
  });
  process.on("uncaughtException", (error) => {
    if (isPostgresDriverGlitch(error) || isTransientDbError(error)) {
      log.warn({ err: error }, "PostgreSQL connection lost mid-write; reconnecting");
      return;
    }
    log.fatal({ err: error }, "uncaught exception; exiting");
    process.exit(1);
  });
}

export function createProbot(credentials: AppCredentials, log: Logger): Probot {
  return new Probot({ ...credentials, log: log.child({ name: "probot" }) });
}

/** The web process: webhooks into intake, plus health. */
export async function startWeb(services: Services, credentials: AppCredentials): Promise<WebServer> {
  const github = new GitHubApp(createProbot(credentials, services.log));
  const botLogin = await ownBotLogin(github, services);
  // Every worker's events, live, for the API and the dashboard (one LISTEN connection per web process).
  const feed = new EventFeed(services.database.db, services.database.sql, (error) =>
    services.log.warn({ err: error.message }, "event feed read failed"),
  );
  await feed.start();
  const routes = webRoutes({
    db: services.database.db,
    env: services.env,
    log: services.log,
    feed,
    github,
    enqueue: services.enqueue,
    queue: services.queue,
  });
  const server = createServer(
    // GitHub gives up on a delivery after 10 s: a body still coming after this holds memory for nothing.
    { requestTimeout: WEB_REQUEST_TIMEOUT_MS },
    droverWeb({
      intake: {
        db: services.database.db,
        enqueue: services.enqueue,
        log: services.log,
        ...(botLogin ? { botLogin } : {}),
      },
      secret: credentials.secret,
      readiness: () => readiness(services),
      log: services.log,
      routes,
    }),
  );
  const host = process.env.HOST ?? "0.0.0.0";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(services.env.PORT, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  services.log.info({ host, port }, "web listening");
  return {
    port,
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Live streams hold their connections open: the feed ends them, then idle connections close.
      await feed.close();
      server.closeIdleConnections();
      await closed;
    },
  };
}

export type WebServer = { port: number; stop: () => Promise<void> };

/**
 * Drover's bot login, so intake drops the webhooks its own writes cause. Unknown (GitHub did not answer at
 * start), Drover's bot counts as any other bot: each such webhook costs a job, but still no request.
 */
async function ownBotLogin(github: GitHubApp, services: Services): Promise<string | undefined> {
  try {
    return await github.botLogin();
  } catch (error) {
    services.log.warn({ err: (error as Error).message }, "could not read the app's bot login");
    return undefined;
  }
}

const WEB_REQUEST_TIMEOUT_MS = 30_000;

/** Ready means PostgreSQL answers and a worker takes a job from the queue (a canary round trip). */
async function readiness(services: Services) {
  const detail: { ready: boolean; database: string; queue: string; roundTripMs?: number } = {
    ready: false,
    database: "unknown",
    queue: "unknown",
  };
  try {
    await services.database.sql`select 1`;
    detail.database = "ok";
  } catch (error) {
    detail.database = (error as Error).message;
  }
  try {
    detail.roundTripMs = await canaryRoundTrip(services.queue, READY_TIMEOUT_MS);
    detail.queue = "ok";
  } catch (error) {
    detail.queue = (error as Error).message;
  }
  detail.ready = detail.database === "ok" && detail.queue === "ok";
  return detail;
}

const READY_TIMEOUT_MS = 5_000;

/** The worker: requeue what PostgreSQL says is pending, then take jobs. */
export async function startWorkers(services: Services, credentials: AppCredentials) {
  const targets = notifyTargets(services.env);
  const deps = {
    db: services.database.db,
    enqueue: services.enqueue,
    github: new GitHubApp(createProbot(credentials, services.log)),
    env: services.env,
    log: services.log,
    workerId: `${os.hostname()}:${process.pid}`,
    capacity: async () => (await services.queue.agentCapacity()) ?? services.env.DROVER_WORKERS,
  };
  const watchdog = await startWatchdog({
    ...deps,
    queue: services.queue,
    reconcileEveryMs: services.env.DROVER_RECONCILE_EVERY_MS,
    redispatch: async () => {
      const botLogin = await ownBotLogin(deps.github, services);
      return redispatchUnfinished({ ...deps, ...(botLogin ? { botLogin } : {}) });
    },
  });
  const redis = connectRedis(services.env.REDIS_URL);
  redis.on("error", (error) => services.log.warn({ err: error.message }, "redis connection error"));
  const worker = startLaneWorkers({
    connection: redis,
    prefix: services.env.DROVER_QUEUE_PREFIX,
    agents: services.env.DROVER_WORKERS,
    leaseMs: leaseMsOf(services.env),
    process: processJob(deps),
    log: services.log,
  });
  services.log.info({ concurrency: services.env.DROVER_WORKERS }, "worker started");
  const notifier = await startNotifier({
    db: services.database.db,
    sqlClient: services.database.sql,
    enqueue: services.enqueue,
    log: services.log,
    targets,
  });
  return {
    close: async () => {
      await notifier.stop();
      watchdog.stop();
      await worker.close();
      redis.disconnect();
    },
  };
}

/** Stops on SIGTERM/SIGINT: stop taking jobs, let running ones finish within the grace period. */
export function onShutdown(log: Logger, steps: (() => Promise<void>)[], graceMs = 10_000): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    const timer = setTimeout(() => {
      log.warn("grace period over; exiting with jobs still running (they resume on another worker)");
      process.exit(1);
    }, graceMs);
    timer.unref();
    void (async () => {
      for (const step of steps)
        await step().catch((error: unknown) => log.error({ err: error }, "shutdown step failed"));
      process.exit(0);
    })();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
