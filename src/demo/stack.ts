import { mkdir } from "node:fs/promises";
import path from "node:path";
import { deleteQueueKeys } from "../queue/redis.ts";
import { startSandbox, type Sandbox } from "../sandbox/server.ts";
import { startDroverProcess, type DroverProcess, type DroverRole } from "./drover-process.ts";
import { freePort } from "./server-process.ts";

/**
 * The sandbox and Drover's processes wired to it: what `drover demo` runs and what the end-to-end tests
 * start. PostgreSQL's database and Redis's queue namespace are the caller's (made fresh for each run).
 */
export interface StackOptions {
  /** Working directory for the sandbox's repositories, Drover's home and the processes' logs. */
  dir: string;
  databaseUrl: string;
  redisUrl: string;
  /** A namespace for this stack's queues, so runs on one Redis do not meet. */
  queuePrefix: string;
  /** DROVER_WORKERS for each worker process. */
  workers: number;
  /** Worker processes beside the web (default 1). */
  workerProcesses?: number;
  /** Added to every Drover process's environment. */
  env?: Record<string, string>;
  /**
   * Each worker process gets a DROVER_HOME of its own (`home-<n>`), as workers on separate machines have;
   * default false: one home for all, as processes on one machine may share.
   */
  homePerWorker?: boolean;
}

export interface Stack {
  sandbox: Sandbox;
  web: DroverProcess;
  workers: DroverProcess[];
  /** The environment Drover's processes run with (start more with `startWorker`). */
  env: Record<string, string>;
  /** Starts another worker process (e.g. after one was killed) and waits until it takes jobs. */
  startWorker(): Promise<DroverProcess>;
  stop(): Promise<void>;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const port = await freePort();
  const sandbox = await startSandbox({
    dir: path.join(options.dir, "sandbox"),
    webhookUrl: `http://127.0.0.1:${port}/api/github/webhooks`,
  });
  const home = path.join(options.dir, "home");
  await mkdir(home, { recursive: true });
  const env = {
    ...sandbox.droverEnv(),
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
    DROVER_QUEUE_PREFIX: options.queuePrefix,
    DROVER_HOME: home,
    DROVER_WORKERS: String(options.workers),
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "info",
    // The sandbox has no secondary rate limits; GitHub's one-write-a-second pacing only slows it down.
    GITHUB_THROTTLE: "off",
    ...options.env,
  };
  let count = 0;
  const start = async (role: DroverRole) => {
    const n = count++;
    const ownHome = options.homePerWorker && role === "worker" ? path.join(options.dir, `home-${n}`) : null;
    if (ownHome) await mkdir(ownHome, { recursive: true });
    return startDroverProcess({
      role,
      env: ownHome ? { ...env, DROVER_HOME: ownHome } : env,
      cwd: options.dir,
      logFile: path.join(options.dir, `${role}-${n}.log`),
    });
  };
  const web = await start("web");
  const workers = await Promise.all(
    Array.from({ length: options.workerProcesses ?? 1 }, () => start("worker")),
  );
  const stack: Stack = {
    sandbox,
    web,
    workers,
    env,
    startWorker: async () => {
      const worker = await start("worker");
      workers.push(worker);
      await worker.ready;
      return worker;
    },
    stop: async () => {
      await Promise.all([web, ...workers].map((p) => p.stop(5_000)));
      await sandbox.close();
      await deleteQueueKeys(options.redisUrl, options.queuePrefix).catch(() => {});
    },
  };
  try {
    await Promise.all([web.ready, ...workers.map((w) => w.ready)]);
  } catch (error) {
    await stack.stop();
    throw error;
  }
  return stack;
}
