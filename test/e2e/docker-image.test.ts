import { randomBytes } from "node:crypto";
import { copyFile, cp, mkdtemp, readdir, readFile, rm, symlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { freePort } from "../../src/demo/server-process.ts";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.ts";
import { ROOT, copiedPaths, dockerfile } from "../helpers/image.ts";
import { TEST_DATABASE_URL, TEST_REDIS_URL } from "../helpers/services.ts";
import { eventually } from "../helpers/stack.ts";

/**
 * The deployment files run by Docker itself, where it is here: `docker compose config` needs only the
 * Compose plugin (or the older docker-compose); building and running the image needs an engine, and
 * host networking (a Linux engine) so the container reaches this machine's PostgreSQL, Redis and sandbox.
 * Without them the tests are skipped with a note saying so; test/unit/deploy/ checks the same files
 * statically either way.
 */

/** Why `args` cannot run here (its first line of complaint), or null when it exits 0. */
async function unavailable(file: string, args: string[]): Promise<string | null> {
  const result = await execa(file, args, { reject: false, timeout: 15_000 });
  if (result.exitCode === 0) return null;
  const said = `${result.stderr || result.stdout || result.shortMessage}`.trim().split("\n")[0];
  return `\`${[file, ...args].join(" ")}\` failed: ${said}`;
}

/** The Compose command on this machine: the plugin, else the older standalone program. */
async function findCompose(): Promise<{ command: string[] } | { missing: string }> {
  const plugin = await unavailable("docker", ["compose", "version"]);
  if (!plugin) return { command: ["docker", "compose"] };
  const standalone = await unavailable("docker-compose", ["version"]);
  if (!standalone) return { command: ["docker-compose"] };
  return { missing: `${plugin}; ${standalone}` };
}

const compose = await findCompose();
const engineMissing = await unavailable("docker", ["info", "--format", "{{.ServerVersion}}"]);
if ("missing" in compose) console.warn(`docker-image.test.ts: compose tests skipped: ${compose.missing}`);
if (engineMissing)
  console.warn(`docker-image.test.ts: image tests skipped: no Docker engine (${engineMissing})`);

describe.skipIf("missing" in compose)("compose.yaml through Compose", () => {
  it("is valid, and gives Drover .env's settings with this file's services in place of .env's addresses", async () => {
    if (!("command" in compose)) return;
    const dir = await mkdtemp(path.join(os.tmpdir(), "drover-compose-"));
    try {
      await copyFile(path.join(ROOT, "compose.yaml"), path.join(dir, "compose.yaml"));
      // The example .env as a person would start from it (it points DATABASE_URL at 127.0.0.1).
      await copyFile(path.join(ROOT, ".env.example"), path.join(dir, ".env"));
      const [file, ...args] = compose.command;
      const { stdout } = await execa(file!, [...args, "config"], { cwd: dir, timeout: 30_000 });
      const config = parse(stdout) as {
        services: Record<string, { environment: Record<string, string> }>;
      };
      for (const name of ["web", "worker"]) {
        const env = config.services[name]!.environment;
        expect(env.DATABASE_URL).toBe("postgres://drover:drover@postgres:5432/drover");
        expect(env.REDIS_URL).toBe("redis://redis:6379");
        expect(env.DROVER_AGENT_ENV).toBe("ANTHROPIC_API_KEY");
      }

      // Without a .env Compose refuses to start, naming the file.
      await rm(path.join(dir, ".env"));
      const refused = await execa(file!, [...args, "config"], { cwd: dir, reject: false, timeout: 30_000 });
      expect(refused.exitCode).not.toBe(0);
      expect(refused.stderr).toContain(".env");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

/** A database name of its own, for a process under test to create and migrate; dropped by `drop`. */
function freshDatabase() {
  const name = `drover_image_${randomBytes(6).toString("hex")}`;
  return {
    url: Object.assign(new URL(TEST_DATABASE_URL), { pathname: `/${name}` }).toString(),
    drop: async () => {
      const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    },
  };
}

/** How many migrations `url`'s database has applied, against how many the repository has. */
async function migrationsApplied(url: string): Promise<{ applied: number; shipped: number }> {
  const shipped = (await readdir(path.join(ROOT, "migrations"))).filter((f) => f.endsWith(".sql")).length;
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql`select count(*)::int as applied from drizzle.__drizzle_migrations`;
    return { applied: Number(row?.applied), shipped };
  } finally {
    await sql.end();
  }
}

/** Polls /readyz on `port` until it answers 200 "ready"; returns what it said (status, database, queue). */
const readyz = (port: number) =>
  eventually(
    "/readyz to say ready",
    async () => {
      const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
      const body = (await response?.json().catch(() => undefined)) as { status?: string } | undefined;
      return response?.ok === true && body?.status === "ready" && body;
    },
    120_000,
  );

/**
 * Without an engine, the next best thing: a directory holding exactly what the Dockerfile copies, with the
 * repository's node_modules standing in for `npm ci --omit=dev` (test/unit/deploy checks that every
 * package the code imports is a dependency). It runs the release command and the image's own command.
 */
describe("the image's files, run without Docker", () => {
  const database = freshDatabase();
  let dir = "";
  let sandbox: Sandbox | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "drover-image-files-"));
    for (const source of copiedPaths(dockerfile()))
      await cp(path.join(ROOT, source), path.join(dir, source), { recursive: true });
    await symlink(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
    sandbox = await startSandbox({ webhookUrl: null });
  });
  afterAll(async () => {
    await sandbox?.close();
    await database.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it("migrates with `drover migrate`, then the image's command answers /readyz and stops on SIGTERM", async () => {
    const base = { PATH: process.env.PATH ?? "", HOME: dir, DATABASE_URL: database.url };
    const migrate = await execa(process.execPath, [path.join(dir, "bin/drover.js"), "migrate"], {
      cwd: dir,
      env: base,
      extendEnv: false,
      reject: false,
      all: true,
    });
    expect(migrate.exitCode, migrate.all).toBe(0);
    const { applied, shipped } = await migrationsApplied(database.url);
    expect(applied).toBe(shipped);

    const port = await freePort();
    const cmd = JSON.parse(dockerfile().findLast((i) => i.keyword === "CMD")!.args) as string[];
    expect(cmd.slice(0, 3)).toEqual(["node", "--import", "tsx"]);
    const start = execa(process.execPath, cmd.slice(1), {
      cwd: dir,
      env: {
        ...base,
        ...sandbox!.droverEnv(),
        REDIS_URL: TEST_REDIS_URL,
        DROVER_QUEUE_PREFIX: `drover-image-files-${randomBytes(4).toString("hex")}`,
        DROVER_HOME: path.join(dir, "data"),
        GITHUB_THROTTLE: "off",
        PORT: String(port),
        HOST: "127.0.0.1",
        NODE_ENV: "production",
      },
      extendEnv: false,
      reject: false,
      all: true,
      stdin: "ignore",
      cleanup: true,
    });
    try {
      const ready = await readyz(port).catch(async (error: Error) => {
        start.kill("SIGKILL");
        throw new Error(`${error.message}\n${(await start).all}`);
      });
      expect(ready).toMatchObject({ status: "ready", database: "ok", queue: "ok" });
    } finally {
      start.kill("SIGTERM");
      const timer = setTimeout(() => start.kill("SIGKILL"), 15_000);
      await start;
      clearTimeout(timer);
    }
    // Drover itself heard SIGTERM (what `docker stop` and a deploy send) and shut down in good order.
    const stopped = await start;
    expect(stopped.all).toContain('"msg":"shutting down"');
    expect({ exitCode: stopped.exitCode, signal: stopped.signal }).toEqual({
      exitCode: 0,
      signal: undefined,
    });
  }, 150_000);
});

describe.skipIf(engineMissing !== null)("the Docker image", () => {
  const tag = `drover-test:${randomBytes(4).toString("hex")}`;
  const container = `drover-test-${randomBytes(4).toString("hex")}`;
  const database = freshDatabase();
  let sandbox: Sandbox | undefined;
  let port = 0;

  beforeAll(async () => {
    await execa("docker", ["build", "--tag", tag, ROOT], { timeout: 600_000 });
    sandbox = await startSandbox({ webhookUrl: null });
    const app = sandbox.droverEnv();
    port = await freePort();
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: TEST_REDIS_URL,
      DROVER_QUEUE_PREFIX: `drover-image-${randomBytes(4).toString("hex")}`,
      APP_ID: app.APP_ID!,
      PRIVATE_KEY: await readFile(app.PRIVATE_KEY_PATH!, "utf8"),
      WEBHOOK_SECRET: app.WEBHOOK_SECRET!,
      GITHUB_API_URL: app.GITHUB_API_URL!,
      GITHUB_THROTTLE: "off",
      PORT: String(port),
      HOST: "127.0.0.1",
    };
    // The image's own command (src/main/start.ts: web and worker), against a database it has to create.
    await execa("docker", [
      "run",
      "--detach",
      "--name",
      container,
      "--network",
      "host",
      ...Object.entries(env).flatMap(([name, value]) => ["--env", `${name}=${value}`]),
      tag,
    ]);
  }, 660_000);

  const logs = async () => (await execa("docker", ["logs", container], { reject: false, all: true })).all;

  afterAll(async () => {
    await execa("docker", ["rm", "--force", container], { reject: false });
    await execa("docker", ["rmi", "--force", tag], { reject: false });
    await sandbox?.close();
    await database.drop();
  }, 60_000);

  it("starts, migrates its database and answers /readyz", async () => {
    const ready = await readyz(port).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${await logs()}`);
    });
    expect(ready).toMatchObject({ status: "ready", database: "ok", queue: "ok" });
    const { applied, shipped } = await migrationsApplied(database.url);
    expect(applied).toBe(shipped);
  }, 150_000);

  it("runs Drover as a user other than root, and carries git", async () => {
    // PID 1 is Drover itself: the entrypoint exec'd it after dropping root.
    const { stdout: status } = await execa("docker", ["exec", container, "cat", "/proc/1/status"]);
    const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
    expect(uid).toBeDefined();
    expect(Number(uid)).not.toBe(0);
    const { stdout: user } = await execa("docker", ["exec", container, "id", "-un", uid!]);
    expect(user.trim()).toBe("drover");
    const { stdout: owner } = await execa("docker", ["exec", container, "stat", "-c", "%U", "/data"]);
    expect(owner.trim()).toBe("drover");

    const { stdout: git } = await execa("docker", [
      "exec",
      "--user",
      "drover",
      container,
      "git",
      "--version",
    ]);
    expect(git).toMatch(/^git version \d+\.\d+/);
    const { stdout: drover } = await execa("docker", ["exec", container, "drover", "--help"]);
    expect(drover).toContain("migrate");
  }, 60_000);

  it("shuts down in good order on `docker stop`", async () => {
    await execa("docker", ["stop", "--time", "20", container]);
    const { stdout } = await execa("docker", ["inspect", "--format", "{{.State.ExitCode}}", container]);
    expect(stdout.trim()).toBe("0");
    expect(await logs()).toContain('"msg":"shutting down"');
  }, 60_000);
});
