import { chmod, mkdtemp, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../src/demo/server-process.ts";
import { TEST_REDIS_URL } from "../helpers/services.ts";

const CLI = new URL("../../src/main/cli.ts", import.meta.url).pathname;
const TSX = import.meta.resolve("tsx");

/**
 * `drover demo` on a machine where no PostgreSQL listens where Drover looks by default: the default port
 * is made a closed one through PGPORT (libpq's variable, which the default DATABASE_URL honours), with
 * DATABASE_URL unset. Redis is the tests' own, named, so only PostgreSQL is in question.
 */
describe("drover demo with no PostgreSQL running", { timeout: 240_000 }, () => {
  let dir: string;
  let closedPort: number;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "drover-demo-embedded-"));
    // Under root the embedded PostgreSQL runs as nobody, who must be able to enter DROVER_HOME.
    await chmod(dir, 0o755);
    closedPort = await freePort();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** The environment of a person with nothing set but what is given (no DATABASE_URL, no .env). */
  const drover = (args: string[], env: Record<string, string>) =>
    execa(process.execPath, ["--import", TSX, CLI, ...args], {
      cwd: dir,
      reject: false,
      extendEnv: false,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? dir,
        PGPORT: String(closedPort),
        REDIS_URL: TEST_REDIS_URL,
        DROVER_HOME: path.join(dir, "home"),
        ...env,
      },
    });

  const postgresProcesses = async (dataDir: string) =>
    (await execa("ps", ["-eo", "pid=,args="])).stdout.split("\n").filter((line) => line.includes(dataDir));

  it("starts an embedded PostgreSQL, says so in one line, completes, and leaves no server behind", async () => {
    const startedAt = Date.now();
    const run = await drover(["demo", "--json"], {});
    expect(run.stderr).toMatch(
      new RegExp(
        `^drover: no PostgreSQL answers at 127\\.0\\.0\\.1:${closedPort} and DATABASE_URL is unset: started an embedded PostgreSQL \\d+ on 127\\.0\\.0\\.1:\\d+ \\(data in home/postgres, made now in [\\d.]+ s\\); it stops when this command ends$`,
        "m",
      ),
    );
    expect(run.exitCode, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "{}") as { summary?: { ok: boolean } };
    expect(summary.summary?.ok).toBe(true);
    expect(await postgresProcesses(path.join(dir, "home", "postgres", "data"))).toEqual([]);
    const made = /made now in ([\d.]+) s/.exec(run.stderr)?.[1];
    process.stderr.write(
      `[measure] demo with an embedded PostgreSQL: initdb ${made} s, whole run ${((Date.now() - startedAt) / 1000).toFixed(1)} s\n`,
    );
  });

  it("never replaces a DATABASE_URL that was set: one line saying it does not answer, nothing started", async () => {
    const named = `postgres://postgres@127.0.0.1:${closedPort}/drover`;
    const home = path.join(dir, "named-home");
    const run = await drover(["demo"], { DATABASE_URL: named, DROVER_HOME: home });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe(
      `drover: PostgreSQL is not reachable at postgres://postgres@127.0.0.1:${closedPort}/drover_demo. Start it (e.g. pg_ctlcluster 15 main start) or set DATABASE_URL.`,
    );
    await expect(stat(path.join(home, "postgres"))).rejects.toThrow(/ENOENT/);
  });
});
