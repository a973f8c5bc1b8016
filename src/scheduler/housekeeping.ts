import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import type { DroverEnv } from "../config/env.ts";
import type { Db } from "../db/client.ts";
import { readDiskUse } from "../db/disk-activity.ts";
import { PASS_LOCK, pruneDisk, type DiskActivity, type DiskPassResult } from "../git/disk.ts";
import { formatBytes, summarizeRemovals } from "../git/disk-plan.ts";
import { withPathLock } from "../git/path-lock.ts";
import { GitError } from "../git/run-git.ts";

/** Every this often (and at start) each worker process keeps its machine's DROVER_HOME in check. */
export const HOUSEKEEPING_EVERY_MS = 10 * 60_000;

export type HousekeepingDeps = {
  db: Db;
  env: Pick<DroverEnv, "DROVER_HOME" | "DROVER_DISK_BUDGET" | "DROVER_KEEP_RUNS">;
  log: Logger;
};

export type HousekeepingOptions = {
  /** `drover worktree prune --all`. */
  all?: boolean;
  /** Measure all of DROVER_HOME (the command does, to say where it stands); a worker does with a budget. */
  measure?: boolean;
  /** How long to wait for another process's pass on the same DROVER_HOME; 0: skip this one. */
  waitMs?: number;
};

/**
 * One pass over DROVER_HOME (src/git/disk.ts): expired runs, what crashes left, and the budget. Several
 * worker processes may share a machine's DROVER_HOME: one pass at a time across them (a lock file), and
 * null when another process's pass is running and `waitMs` ran out.
 */
export async function housekeepDisk(
  deps: Pick<HousekeepingDeps, "db" | "env">,
  opts: HousekeepingOptions = {},
): Promise<DiskPassResult | null> {
  const home = path.resolve(deps.env.DROVER_HOME);
  await mkdir(home, { recursive: true });
  const budget = deps.env.DROVER_DISK_BUDGET;
  try {
    return await withPathLock(
      path.join(home, PASS_LOCK),
      () =>
        pruneDisk(home, {
          budget,
          keepRunsMs: deps.env.DROVER_KEEP_RUNS,
          all: opts.all ?? false,
          measure: opts.measure ?? budget !== undefined,
          activity: () => diskActivity(deps.db),
        }),
      { timeoutMs: opts.waitMs ?? 0 },
    );
  } catch (error) {
    if (error instanceof GitError && error.timedOut) return null;
    throw error;
  }
}

async function diskActivity(db: Db): Promise<DiskActivity> {
  const use = await readDiskUse(db);
  return {
    installed: new Set(use.installed),
    runningRuns: use.running.map((run) => run.runPrefix),
    runningRepos: new Set(use.running.map((run) => run.repoFullName)),
  };
}

/** Logs what a pass did, and warns when the budget cannot be met. */
export function logPass(log: Logger, result: DiskPassResult): void {
  if (result.removed.length > 0) {
    log.info(
      {
        removed: result.removed.map((r) => r.key),
        freedBytes: result.freedBytes,
        usageBytes: result.usage,
      },
      `disk housekeeping: ${summarizeRemovals(result.removed, result)}`,
    );
  }
  for (const kept of result.kept.filter((k) => k.why.startsWith("could not be removed"))) {
    log.warn({ path: kept.key, why: kept.why }, "disk housekeeping could not remove a path");
  }
  if (result.overBudget && result.usage !== null && result.budget !== undefined) {
    log.warn(
      { budgetBytes: result.budget, usageBytes: result.usage },
      `DROVER_HOME holds ${formatBytes(result.usage)}, over DROVER_DISK_BUDGET (${formatBytes(result.budget)}): ` +
        "what is left is in use, or the mirrors and caches of repositories Drover is installed on; " +
        "raise the budget or give DROVER_HOME more room",
    );
  }
}

/**
 * Each worker process, at start and every HOUSEKEEPING_EVERY_MS: DROVER_HOME is the machine's own, so
 * this is a timer, not a queue job (which one worker would take for all). One pass at a time; a failed
 * pass is logged and the next one tries again.
 */
export function startHousekeeping(
  deps: HousekeepingDeps,
  everyMs = HOUSEKEEPING_EVERY_MS,
): { stop: () => Promise<void> } {
  let running: Promise<void> | null = null;
  const pass = () => {
    if (running) return;
    running = housekeepDisk(deps)
      .then((result) => {
        if (result) logPass(deps.log, result);
      })
      .catch((error: unknown) =>
        deps.log.warn({ err: error }, "disk housekeeping failed; trying again later"),
      )
      .finally(() => {
        running = null;
      });
  };
  pass();
  const timer = setInterval(pass, everyMs);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
