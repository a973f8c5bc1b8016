import { randomBytes } from "node:crypto";
import pino from "pino";
import { Probot } from "probot";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import { processJob } from "../../jobs/process-job.ts";
import type { JobDeps } from "../../jobs/deps.ts";
import { leaseMsOf } from "../../src/db/attempts.ts";
import type { Database, Db } from "../../src/db/client.ts";
import { GitHubApp } from "../../src/github/app.ts";
import { receiveWebhook } from "../../src/intake/receive.ts";
import { TEST_BOT } from "./github-replies.ts";
import { droverOctokit } from "../../src/github/octokit.ts";
import { RequestBudget } from "../../src/github/budget.ts";
import { enqueuer, type Enqueue } from "../../src/queue/job-catalog.ts";
import { Queue } from "bullmq";
import { LANES, WorkQueue, startWorkers, type LaneWorkers, type ProcessJob } from "../../src/queue/queue.ts";
import { connectRedis } from "../../src/queue/redis.ts";
import { useTestDatabase } from "./db.ts";
import { newAppKey } from "./app-key.ts";
import { makeGitSandbox, type GitSandbox } from "./git-sandbox.ts";
import { GITHUB_API, useGitHubMock } from "./github.ts";
import { OCTO_REPO, type TestRepo } from "./payloads.ts";
import { TEST_REDIS_URL } from "./services.ts";

/** The App's key: made once a run by the global setup (an RSA key takes a quarter of a second), else here. */
export const TEST_PRIVATE_KEY = process.env.TEST_APP_PRIVATE_KEY ?? newAppKey();
export const TEST_WEBHOOK_SECRET = "test-webhook-secret";

/**
 * Drover's own Octokit, as the sandbox runs it (GITHUB_THROTTLE=off): GitHub asks for a second between
 * writes, but tests against nock need not wait. Everything else is production's: 5xx answers retried,
 * rate limits handled as Drover handles them; retries come after 10 ms, not 1 s, so a request no mock
 * answers (a 500 from nock) fails the test at once. Each harness counts its requests in a budget of its
 * own: a file's tests, one after another, send more content writes in a minute than one task would, and a
 * shared count would hold back the status edits of the later ones.
 */
const testOctokit = () => droverOctokit({ pace: false, retryAfterBaseMs: 10, budget: new RequestBudget() });

/**
 * Drover in one process for tests: Probot (webhooks in), the real queue on Redis under a prefix of its
 * own, and job handlers wired to a test database. GitHub is whatever nock says it is.
 */
export type Harness = {
  probot: Probot;
  deps: JobDeps;
  enqueue: Enqueue;
  queue: WorkQueue;
  /** Delivers a webhook to intake, as the web's endpoint does once its signature holds. */
  receive: (name: string, payload: object, id?: string) => Promise<void>;
  /** Starts a worker process's lanes: `agents` agent runs at once, plus the quick-job lane. */
  startWorker: (agents?: number) => LaneWorkers;
  /**
   * Resolves when the queue has nothing waiting or running, and nothing delayed that is due within
   * `timeoutMs` (a failed task's retry an hour away is not this test's to wait for).
   */
  drain: (timeoutMs?: number) => Promise<void>;
  /** Jobs waiting out a delay, with when each is due (ms since the epoch). */
  delayed: () => Promise<DelayedJob[]>;
  close: () => Promise<void>;
};

/** Resolves once the queue runs nothing and holds nothing waiting or delayed (failed jobs may stay). */
export async function settled(harness: Harness, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await harness.queue.counts();
    if ((counts.wait ?? 0) + (counts.active ?? 0) + (counts.delayed ?? 0) === 0) return;
    if (Date.now() > deadline) throw new Error(`queue did not settle: ${JSON.stringify(counts)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export type DelayedJob = { name: string; id: string; data: unknown; queuedAt: number; dueAt: number };

export function createHarness(options: {
  database: Database;
  home: string;
  agentEnv?: string[];
  /** How long a started task waits to be shown as queued (production: 10 s); 0, so drain() need not wait. */
  queuedShownAfterMs?: number;
  /**
   * Run warm-pool jobs (mirrors and pools kept warm in the background, jobs/warm-pool.ts). Off unless a
   * test is about them: they fetch from the repository's clone URL, github.com's in most tests' payloads,
   * which no test can reach. Off, they are taken from the queue and dropped.
   */
  warmPool?: boolean;
}): Harness {
  const prefix = `drover-test-${randomBytes(4).toString("hex")}`;
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
  const connection = connectRedis(TEST_REDIS_URL);
  // Errors of the connection and the queues go to the log: a harness closed while BullMQ is still
  // starting up (a test that never used the queue) must not fail the run with an unhandled rejection.
  connection.on("error", (error) => log.debug({ err: error }, "redis connection error"));
  const queue = new WorkQueue(connection, prefix, (error) => log.debug({ err: error }, "queue error"));
  const enqueue = enqueuer(queue);
  // BullMQ's own view of the lanes, for what WorkQueue does not tell (delayed jobs and when they are due).
  const lanes = Object.values(LANES).map((name) => new Queue(name, { connection, prefix }));
  for (const lane of lanes) lane.on("error", (error) => log.debug({ err: error }, "queue error"));
  const delayed = async (): Promise<DelayedJob[]> =>
    (await Promise.all(lanes.map((lane) => lane.getDelayed()))).flat().map((job) => ({
      name: job.name,
      id: job.id ?? "",
      data: job.data,
      queuedAt: job.timestamp,
      dueAt: job.timestamp + job.delay,
    }));
  const probot = new Probot({
    appId: 1,
    privateKey: TEST_PRIVATE_KEY,
    secret: TEST_WEBHOOK_SECRET,
    baseUrl: GITHUB_API,
    log,
    Octokit: testOctokit(),
  });
  const deps: JobDeps = {
    db: options.database.db,
    enqueue,
    github: new GitHubApp(probot),
    env: { DROVER_HOME: options.home, DROVER_AGENT_ENV: options.agentEnv ?? [] },
    log,
    workerId: `test-${process.pid}`,
    capacity: async () => (await queue.agentCapacity()) ?? 2,
    queuedShownAfterMs: options.queuedShownAfterMs ?? 0,
  };
  const workers: { worker: LaneWorkers; connection: ReturnType<typeof connectRedis> }[] = [];

  return {
    probot,
    deps,
    enqueue,
    queue,
    async receive(name, payload, id = randomBytes(8).toString("hex")) {
      await receiveWebhook(
        { db: options.database.db, enqueue, log, botLogin: TEST_BOT.login },
        { id, name, payload },
      );
    },
    startWorker(agents = 2) {
      const workerConnection = connectRedis(TEST_REDIS_URL);
      const worker = startWorkers({
        connection: workerConnection,
        prefix,
        agents,
        leaseMs: leaseMsOf(deps.env),
        process: options.warmPool ? processJob(deps) : withoutWarmPool(processJob(deps)),
        log,
      });
      workers.push({ worker, connection: workerConnection });
      return worker;
    },
    delayed,
    async drain(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const counts = await queue.counts();
        const later = (await delayed()).filter((job) => job.dueAt > deadline).length;
        if ((counts.wait ?? 0) + (counts.active ?? 0) + (counts.delayed ?? 0) - later === 0) {
          const failed = await queue.failures();
          if (failed.length > 0) {
            throw new Error(`jobs failed: ${failed.map((f) => `${f.name} ${f.id}: ${f.reason}`).join("; ")}`);
          }
          return;
        }
        if (Date.now() > deadline) throw new Error(`queue did not drain: ${JSON.stringify(counts)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async close() {
      // QUIT, not a disconnect: a command still in flight (BullMQ's own bookkeeping) gets its answer
      // instead of a "Connection is closed" rejection nobody is waiting for.
      for (const { worker, connection: c } of workers) {
        await worker.close();
        await c.quit().catch(() => c.disconnect());
      }
      await queue.close();
      // Each lane is closed once it has started, as WorkQueue's are (see WorkQueue.close).
      await Promise.all(
        lanes.map((lane) =>
          lane.waitUntilReady().then(
            () => lane.close(),
            () => lane.close(),
          ),
        ),
      );
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}

function withoutWarmPool(process: ProcessJob): ProcessJob {
  return async (name, data, context) => {
    if (name !== "warm-pool") await process(name, data, context);
  };
}

export type DroverOptions = {
  /** DROVER_AGENT_ENV of every harness: the variables passed through to agents. */
  agentEnv?: string[];
  /** How long a started task waits to be shown as queued; 0 unless a test is about that wait. */
  queuedShownAfterMs?: number;
  /** Run warm-pool jobs (see createHarness). */
  warmPool?: boolean;
};

/** What `useDrover` gives a test; each accessor throws if used before its hook has run. */
export type Drover = {
  database: () => Database;
  /** The test database's URL, for a process the test starts (the `drover` command line). */
  databaseUrl: () => string;
  db: () => Db;
  /** This test's harness, its worker started. */
  harness: () => Harness;
  sandbox: () => GitSandbox;
  /** OCTO_REPO, cloned from the sandbox's origin. */
  repo: () => TestRepo;
  /** The GitHub mock: `github.api()` is a nock scope on GitHub's API (see `useGitHubMock`). */
  github: ReturnType<typeof useGitHubMock>;
};

/**
 * Drover for the tests of one describe block: a test database and a git sandbox for the file, the GitHub
 * mock, and a fresh harness with a started worker per test (each reads the bot identity and the
 * installation token afresh). After each test the queue is drained, so a failed job fails the test, and
 * the harness is closed, before the GitHub mock checks that no mock went unused.
 *
 * Call it once, at the top of the describe block. Hooks registered before the call run outside these
 * (a `beforeEach` before the harness is made, an `afterEach` after it is closed); hooks registered after
 * it run inside them (the sandbox and the database are there in a `beforeAll`).
 */
export function useDrover(options: DroverOptions = {}): Drover {
  const testDb = useTestDatabase();
  const github = useGitHubMock();
  let sandbox: GitSandbox | undefined;
  let harness: Harness | undefined;

  beforeAll(async () => {
    sandbox = await makeGitSandbox();
  });
  beforeEach(() => {
    harness = createHarness({
      database: testDb.database(),
      home: present(sandbox, "sandbox").home,
      agentEnv: options.agentEnv ?? [],
      ...(options.queuedShownAfterMs === undefined ? {} : { queuedShownAfterMs: options.queuedShownAfterMs }),
      ...(options.warmPool === undefined ? {} : { warmPool: options.warmPool }),
    });
    harness.startWorker();
  });
  afterEach(async () => {
    const done = harness;
    harness = undefined;
    try {
      await done?.drain();
    } finally {
      await done?.close();
    }
  });
  afterAll(async () => {
    await sandbox?.cleanup();
    sandbox = undefined;
  });

  const sandboxOf = () => present(sandbox, "sandbox");
  return {
    database: testDb.database,
    databaseUrl: testDb.url,
    db: () => testDb.database().db,
    harness: () => present(harness, "harness"),
    sandbox: sandboxOf,
    repo: () => ({ ...OCTO_REPO, cloneUrl: sandboxOf().origin }),
    github,
  };
}

function present<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`useDrover's ${what} used outside a test`);
  return value;
}
