import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { dropDatabase } from "../../src/db/migrate.ts";
import { deleteQueueKeys } from "../../src/queue/redis.ts";
import { useTestDatabase } from "../helpers/db.ts";
import { TEST_PRIVATE_KEY } from "../helpers/drover.ts";
import { TEST_REDIS_URL } from "../helpers/services.ts";

/**
 * `npm start` as a person runs it, in a child process with only the environment set here (PATH and HOME
 * plus Drover's variables): what does it say when PostgreSQL or Redis is missing or wrong, and what does
 * it serve before the GitHub App exists?
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const APP = { APP_ID: "1", PRIVATE_KEY: TEST_PRIVATE_KEY, WEBHOOK_SECRET: "x" };

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

type Run = {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
};

function run(command: string, args: string[], env: Record<string, string>): Run {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

function startDrover(env: Record<string, string>): Run {
  return run(process.execPath, ["--import", "tsx", "src/main/start.ts"], env);
}

/** Waits for the child to exit, failing after `ms` with what it printed. */
async function exitWithin(started: Run, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(`still running after ${ms}ms\nstdout: ${started.stdout()}\nstderr: ${started.stderr()}`),
        ),
      ms,
    );
  });
  try {
    return await Promise.race([started.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** One `drover: ...` line on stderr and nothing that looks like a stack trace. */
function expectOneLine(stderr: string): string {
  const lines = stderr.trimEnd().split("\n");
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^drover: /);
  expect(stderr).not.toMatch(/^\s+at /m);
  return lines[0]!;
}

async function waitForPort(port: number, ms: number, started?: Run): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: "127.0.0.1", port });
      socket.once("connect", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    if (started && started.child.exitCode !== null) {
      throw new Error(
        `exited with ${started.child.exitCode}\nstdout: ${started.stdout()}\nstderr: ${started.stderr()}`,
      );
    }
    if (Date.now() > deadline) throw new Error(`nothing listening on ${port} after ${ms}ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("starting Drover", () => {
  const testDb = useTestDatabase();

  it("exits with one line naming the URL and how to start PostgreSQL when it is not running", async () => {
    const url = `postgres://postgres@127.0.0.1:${await freePort()}/drover`;
    const started = startDrover({ ...APP, DATABASE_URL: url, REDIS_URL: TEST_REDIS_URL });

    expect(await exitWithin(started, 15_000)).not.toBe(0);
    const line = expectOneLine(started.stderr());
    expect(line).toContain(`PostgreSQL is not reachable at ${url}`);
    expect(line).toMatch(/Start it \(e\.g\. .+\) or set DATABASE_URL/);
  });

  it("exits with one line naming the URL and how to start Redis when it is not running", async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const started = startDrover({ ...APP, DATABASE_URL: testDb.url(), REDIS_URL: url });

    expect(await exitWithin(started, 15_000)).not.toBe(0);
    const line = expectOneLine(started.stderr());
    expect(line).toContain(`Redis is not reachable at ${url}`);
    expect(line).toMatch(/redis-server .*or set REDIS_URL/);
  });

  it("refuses a Redis that evicts keys, naming maxmemory-policy and noeviction", async () => {
    const port = await freePort();
    const redis = run(
      "redis-server",
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--maxmemory-policy",
        "allkeys-lru",
        "--daemonize",
        "no",
      ],
      {},
    );
    await waitForPort(port, 10_000, redis);

    const started = startDrover({
      ...APP,
      DATABASE_URL: testDb.url(),
      REDIS_URL: `redis://127.0.0.1:${port}`,
    });

    expect(await exitWithin(started, 15_000)).not.toBe(0);
    const line = expectOneLine(started.stderr());
    expect(line).toContain("maxmemory-policy allkeys-lru");
    expect(line).toContain("noeviction");
    expect(line).toContain("CONFIG SET maxmemory-policy noeviction");
  });

  it("exits with one line when DATABASE_URL is not a PostgreSQL URL", async () => {
    const started = startDrover({ ...APP, DATABASE_URL: "localhost:5432/drover", REDIS_URL: TEST_REDIS_URL });

    expect(await exitWithin(started, 15_000)).not.toBe(0);
    expect(started.stderr()).toContain("DATABASE_URL: must be a URL such as postgres://");
    expect(started.stderr()).not.toMatch(/^\s+at /m);
  });

  it("exits with one line naming what is wrong with DROVER_NOTIFY", async () => {
    const started = startDrover({
      ...APP,
      DATABASE_URL: testDb.url(),
      REDIS_URL: TEST_REDIS_URL,
      DROVER_NOTIFY: "[{url: 'http://hooks.example.com/drover', events: [task.failed]}]",
    });

    expect(await exitWithin(started, 15_000)).not.toBe(0);
    const line = expectOneLine(started.stderr());
    expect(line).toMatch(/^drover: DROVER_NOTIFY\.0\.url must use https .*DROVER_NOTIFY_PRIVATE=allow/);
  });

  it("exits with one line when PostgreSQL refuses the user", async () => {
    const url = new URL(testDb.url());
    url.username = "no_such_drover_role";
    const started = startDrover({ ...APP, DATABASE_URL: url.toString(), REDIS_URL: TEST_REDIS_URL });

    expect(await exitWithin(started, 15_000)).not.toBe(0);
    const line = expectOneLine(started.stderr());
    expect(line).toContain("no_such_drover_role");
    expect(line).toContain("DATABASE_URL");
  });

  it("serves Probot's register-your-app page when there is no APP_ID or PRIVATE_KEY", async () => {
    const port = await freePort();
    // NO_SMEE_SETUP: setup mode would otherwise fetch smee-client and write a proxy URL into .env.
    const started = startDrover({
      PORT: String(port),
      HOST: "127.0.0.1",
      NO_SMEE_SETUP: "true",
      LOG_LEVEL: "warn",
    });
    await waitForPort(port, 15_000, started);

    const root = await fetch(`http://127.0.0.1:${port}/`, { redirect: "manual" });
    expect(root.status).toBe(302);
    expect(root.headers.get("location")).toBe("/probot");

    const page = await fetch(`http://127.0.0.1:${port}/probot`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(await page.text()).toContain("Register GitHub App");
  });

  it("comes up as three web and three worker processes started at once on a database that does not exist", async () => {
    const url = new URL(testDb.url());
    url.pathname = `/drover_race_${Date.now()}`;
    const env = {
      ...APP,
      DATABASE_URL: url.toString(),
      REDIS_URL: TEST_REDIS_URL,
      LOG_LEVEL: "info",
      DROVER_QUEUE_PREFIX: `drover-race-${Date.now()}`,
    };
    const ports = [await freePort(), await freePort(), await freePort()];
    const webs = ports.map((port) =>
      run(process.execPath, ["--import", "tsx", "src/main/web.ts"], {
        ...env,
        PORT: String(port),
        HOST: "127.0.0.1",
      }),
    );
    const workers = [1, 2, 3].map(() =>
      run(process.execPath, ["--import", "tsx", "src/main/worker.ts"], env),
    );
    try {
      for (const [i, port] of ports.entries()) await waitForPort(port, 45_000, webs[i]);
      for (const worker of workers) {
        await expect
          .poll(() => (worker.child.exitCode ?? "") + worker.stdout(), { timeout: 45_000, interval: 200 })
          .toContain('"msg":"worker started"');
      }
      for (const started of [...webs, ...workers]) {
        expect(started.child.exitCode, started.stderr()).toBeNull();
        expect(started.stdout() + started.stderr()).not.toMatch(/duplicate key|already exists/);
      }
      const health = await fetch(`http://127.0.0.1:${ports[0]}/healthz`);
      expect(health.status).toBe(200);
    } finally {
      for (const started of [...webs, ...workers]) started.child.kill("SIGKILL");
      await Promise.all([...webs, ...workers].map((started) => started.exited));
      await dropDatabase(url.toString());
      await deleteQueueKeys(TEST_REDIS_URL, env.DROVER_QUEUE_PREFIX);
    }
  }, 90_000);
});
