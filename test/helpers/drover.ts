import { generateKeyPairSync, randomBytes } from "node:crypto";
import pino from "pino";
import { Probot, ProbotOctokit } from "probot";
import type { Worker } from "bullmq";
import { processJob } from "../../jobs/catalog.ts";
import type { JobDeps } from "../../jobs/deps.ts";
import { droverApp } from "../../src/app.ts";
import type { Database } from "../../src/db/client.ts";
import { GitHubApp } from "../../src/github/app.ts";
import { enqueuer, type Enqueue } from "../../src/queue/catalog.ts";
import { WorkQueue, startWorker } from "../../src/queue/queue.ts";
import { connectRedis } from "../../src/queue/redis.ts";
import { GITHUB_API } from "./github.ts";
import { TEST_REDIS_URL } from "./services.ts";

export const TEST_PRIVATE_KEY = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs1", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
}).privateKey;
export const TEST_WEBHOOK_SECRET = "test-webhook-secret";

/**
 * GitHub asks for a second between writes and Probot's throttling honours it; tests against nock need not
 * wait. (Probot sets `throttle` after any `.defaults()`, so the override sits in the constructor.)
 */
class UnthrottledOctokit extends ProbotOctokit {
  constructor(options: ConstructorParameters<typeof ProbotOctokit>[0] = {}) {
    super({ ...options, throttle: { ...options.throttle, enabled: false }, retry: { enabled: false } });
  }
}

/**
 * Drover in one process for tests: Probot (webhooks in), the real queue on Redis under a prefix of its
 * own, and job handlers wired to a test database. GitHub is whatever nock says it is.
 */
export type Harness = {
  probot: Probot;
  deps: JobDeps;
  enqueue: Enqueue;
  queue: WorkQueue;
  /** Delivers a webhook as GitHub would (through Probot's receive). */
  receive: (name: string, payload: object, id?: string) => Promise<void>;
  startWorker: (concurrency?: number) => Worker;
  /** Resolves when the queue has nothing waiting, delayed or running. */
  drain: (timeoutMs?: number) => Promise<void>;
  close: () => Promise<void>;
};

export function createHarness(options: { database: Database; home: string; agentEnv?: string[] }): Harness {
  const prefix = `drover-test-${randomBytes(4).toString("hex")}`;
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
  const connection = connectRedis(TEST_REDIS_URL);
  const queue = new WorkQueue(connection, prefix);
  const enqueue = enqueuer(queue);
  const probot = new Probot({
    appId: 1,
    privateKey: TEST_PRIVATE_KEY,
    secret: TEST_WEBHOOK_SECRET,
    baseUrl: GITHUB_API,
    log,
    Octokit: UnthrottledOctokit,
  });
  const deps: JobDeps = {
    db: options.database.db,
    enqueue,
    github: new GitHubApp(probot),
    env: { DROVER_HOME: options.home, DROVER_AGENT_ENV: options.agentEnv ?? [] },
    log,
    workerId: `test-${process.pid}`,
  };
  let loaded: Promise<void> | undefined;
  const workers: { worker: Worker; connection: ReturnType<typeof connectRedis> }[] = [];

  return {
    probot,
    deps,
    enqueue,
    queue,
    async receive(name, payload, id = randomBytes(8).toString("hex")) {
      loaded ??= probot.load(droverApp({ db: options.database.db, enqueue, log }));
      await loaded;
      await probot.receive({ id, name, payload } as Parameters<Probot["receive"]>[0]);
    },
    startWorker(concurrency = 2) {
      const workerConnection = connectRedis(TEST_REDIS_URL);
      const worker = startWorker({
        connection: workerConnection,
        prefix,
        concurrency,
        process: processJob(deps),
        log,
      });
      workers.push({ worker, connection: workerConnection });
      return worker;
    },
    async drain(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const counts = await queue.counts();
        if ((counts.wait ?? 0) + (counts.active ?? 0) + (counts.delayed ?? 0) === 0) {
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
      for (const { worker, connection: c } of workers) {
        await worker.close();
        c.disconnect();
      }
      await queue.close();
      connection.disconnect();
    },
  };
}
