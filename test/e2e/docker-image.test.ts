import { randomBytes } from "node:crypto";
import { copyFile, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { freePort } from "../../src/demo/drover-process.ts";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.ts";
import { ROOT } from "../helpers/image.ts";
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

describe.skipIf(engineMissing !== null)("the Docker image", () => {
  const tag = `drover-test:${randomBytes(4).toString("hex")}`;
  const container = `drover-test-${randomBytes(4).toString("hex")}`;
  const databaseName = `drover_image_${randomBytes(6).toString("hex")}`;
  const databaseUrl = Object.assign(new URL(TEST_DATABASE_URL), { pathname: `/${databaseName}` }).toString();
  let sandbox: Sandbox | undefined;
  let port = 0;

  beforeAll(async () => {
    await execa("docker", ["build", "--tag", tag, ROOT], { timeout: 600_000 });
    sandbox = await startSandbox({ webhookUrl: null });
    const app = sandbox.droverEnv();
    port = await freePort();
    const env = {
      DATABASE_URL: databaseUrl,
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
    // The image's own command (`npm start`: web and worker), against a database it has to create.
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

  afterAll(async () => {
    const logs = await execa("docker", ["logs", container], { reject: false, all: true });
    if (logs.exitCode === 0 && process.env.DROVER_TEST_SHOW_IMAGE_LOGS) console.log(logs.all);
    await execa("docker", ["rm", "--force", container], { reject: false });
    await execa("docker", ["rmi", "--force", tag], { reject: false });
    await sandbox?.close();
    const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop database if exists "${databaseName}" with (force)`);
    await admin.end();
  }, 60_000);

  it("starts, migrates its database and answers /readyz", async () => {
    const ready = await eventually(
      "/readyz to say ready",
      async () => {
        const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
        const body = (await response?.json().catch(() => undefined)) as { ready?: boolean } | undefined;
        return body?.ready === true && body;
      },
      120_000,
    );
    expect(ready).toMatchObject({ ready: true, database: "ok", queue: "ok" });

    const migrations = (await readdir(path.join(ROOT, "migrations"))).filter((f) => f.endsWith(".sql"));
    const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    try {
      const [row] = await sql`select count(*)::int as applied from drizzle.__drizzle_migrations`;
      expect(row?.applied).toBe(migrations.length);
    } finally {
      await sql.end();
    }
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
});
