import { mkdir, mkdtemp, rm, stat, utimes, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Db } from "../../../src/db/client.ts";
import {
  housekeepDisk,
  logPass,
  startHousekeeping,
  type HousekeepingDeps,
} from "../../../src/scheduler/housekeeping.ts";
import { useTestDatabase } from "../../helpers/db.ts";

const DAY = 86_400_000;

/** The worker's timer: a pass at start, one at a time on a DROVER_HOME, failures logged and survived. */
describe("disk housekeeping in a worker", () => {
  const testDb = useTestDatabase();
  let home: string;
  let lines: {
    level: number;
    msg: string;
    removed?: string[];
    err?: { message: string };
    [field: string]: unknown;
  }[];
  let deps: HousekeepingDeps;

  beforeEach(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), "drover-housekeeping-"));
    lines = [];
    const log = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    deps = {
      db: testDb.database().db,
      env: { DROVER_HOME: home, DROVER_DISK_BUDGET: undefined, DROVER_KEEP_RUNS: 7 * DAY },
      log,
    };
  });
  afterEach(async () => {
    await rm(home, { recursive: true, force: true });
  });

  async function expiredRun(name: string): Promise<string> {
    const dir = path.join(home, "runs", name);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, "agent.log"), "done\n");
    const at = new Date(Date.now() - 10 * DAY);
    await utimes(path.join(dir, "agent.log"), at, at);
    await utimes(dir, at, at);
    return dir;
  }

  const present = (p: string) =>
    stat(p).then(
      () => true,
      () => false,
    );

  it("runs a pass at start and logs what it removed", async () => {
    const run = await expiredRun("1-2-1-1");
    const housekeeping = startHousekeeping(deps);
    await vi.waitFor(() => expect(lines.some((line) => line.removed !== undefined)).toBe(true));
    await housekeeping.stop();
    expect(await present(run)).toBe(false);
    expect(lines.find((line) => line.removed)).toMatchObject({
      level: 30,
      msg: "disk housekeeping: removed 1 run directory (5 B)",
      removed: ["runs/1-2-1-1"],
    });
  });

  it("leaves the pass to another process that is running one on the same DROVER_HOME", async () => {
    const run = await expiredRun("1-3-1-1");
    // A live process (this one, for the lock) holds the pass's lock.
    await writeFile(path.join(home, "housekeeping.lock"), `${process.pid}\n`);
    expect(await housekeepDisk(deps)).toBeNull();
    expect(await present(run)).toBe(true);
    await rm(path.join(home, "housekeeping.lock"));
    expect((await housekeepDisk(deps))?.removed.map((r) => r.key)).toEqual(["runs/1-3-1-1"]);
  });

  it("warns, naming the budget and the usage, when what is left cannot be removed", async () => {
    // The agents' caches count against the budget but are never removed.
    await mkdir(path.join(home, "agent-cache", "codex"), { recursive: true });
    await writeFile(path.join(home, "agent-cache", "codex", "models.bin"), Buffer.alloc(2_000_000));
    const result = await housekeepDisk({ ...deps, env: { ...deps.env, DROVER_DISK_BUDGET: 1_000_000 } });
    logPass(deps.log, result!);
    expect(result).toMatchObject({ overBudget: true, usage: 2_000_000, budget: 1_000_000, removed: [] });
    expect(lines).toEqual([
      expect.objectContaining({
        level: 40,
        budgetBytes: 1_000_000,
        usageBytes: 2_000_000,
        msg: expect.stringMatching(/^DROVER_HOME holds 2 MB, over DROVER_DISK_BUDGET \(1 MB\)/),
      }),
    ]);
  });

  it("logs a failed pass and keeps going", async () => {
    const run = await expiredRun("1-4-1-1");
    const broken = {
      select: () => {
        throw new Error("PostgreSQL is down");
      },
    } as unknown as Db;
    const housekeeping = startHousekeeping({ ...deps, db: broken });
    await vi.waitFor(() => expect(lines.some((line) => line.level === 40)).toBe(true));
    await housekeeping.stop();
    expect(lines.find((line) => line.level === 40)).toMatchObject({
      msg: "disk housekeeping failed; trying again later",
      err: { message: "PostgreSQL is down" },
    });
    // Nothing is removed without knowing what is in use.
    expect(await present(run)).toBe(true);
  });
});
