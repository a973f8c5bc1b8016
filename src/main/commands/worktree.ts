import { environment, exit } from "../env.ts";
import type { CliCommand } from "../command.ts";
import { readFlags, withOperatorDatabase } from "../command.ts";

const SYNOPSIS = "drover worktree prune [--all]";

/** How long `worktree prune` waits for a worker's housekeeping pass on the same DROVER_HOME to end. */
const PRUNE_WAIT_MS = 5 * 60_000;

/** `worktree`'s subcommand and `--all`, checked before the database is opened. */
export function pruneArgs(rest: string[]): { all: boolean } {
  const [subcommand, ...args] = rest;
  if (subcommand !== "prune")
    exit(
      `${subcommand === undefined ? "worktree needs a subcommand" : `unknown worktree subcommand "${subcommand}"`}: ${SYNOPSIS}`,
    );
  const { values } = readFlags("worktree prune", SYNOPSIS, {
    args,
    options: { all: { type: "boolean", default: false } },
  });
  return { all: values.all };
}

export const worktree: CliCommand = {
  name: "worktree",
  usage: `  worktree prune [--all]              free disk under DROVER_HOME now, as each worker does every 10
                                      minutes: run directories older than DROVER_KEEP_RUNS, what
                                      crashes left, then DROVER_DISK_BUDGET; --all also removes every
                                      idle pooled worktree, finished run directory and package cache,
                                      and mirrors of repositories Drover left (never a claimed worktree
                                      or a running attempt's directory)
`,
  help: `Usage: ${SYNOPSIS}

Frees disk under DROVER_HOME now, as each worker does every 10 minutes: removes run directories (agent
logs, transcripts) older than DROVER_KEEP_RUNS, what crashed processes left behind, then, while
DROVER_HOME is over DROVER_DISK_BUDGET, idle pooled worktrees, mirrors of repositories Drover is no
longer installed on and old run directories, least recently used first.
Never removes a worktree a live process has claimed or the directory of a running attempt. Waits (up to
5 minutes) when a worker on the same DROVER_HOME is cleaning it. Prints each thing removed or skipped and
what DROVER_HOME holds afterwards. Run it on the machine whose DROVER_HOME it is.

Options:
  --all   also remove every idle pooled worktree, finished run directory and package cache, and the
          mirrors of repositories Drover is no longer installed on (default: off)

Environment:
  DROVER_HOME         the directory to prune (default .drover)
  DROVER_KEEP_RUNS    how long an attempt's run directory is kept after it ends (default 7d)
  DROVER_DISK_BUDGET  the most DROVER_HOME may hold (e.g. 20GB; default: no limit)
  DATABASE_URL        PostgreSQL, to know which attempts are running

Exit codes:
  0  pruned (a line on stderr says so when DROVER_HOME is still over its budget)
  1  a bad argument, PostgreSQL did not answer, or another process kept cleaning for 5 minutes

Example:
  DROVER_HOME=/var/lib/drover drover worktree prune --all
`,
  async run(rest) {
    const { all } = pruneArgs(rest);
    const env = environment();
    const { formatBytes, renderPrune } = await import("../../git/disk-plan.ts");
    const { housekeepDisk } = await import("../../scheduler/housekeeping.ts");
    await withOperatorDatabase(env, async (database) => {
      const result = await housekeepDisk(
        { db: database.db, env },
        { all, measure: true, waitMs: PRUNE_WAIT_MS },
      ).catch((error: unknown) => exit(`could not prune DROVER_HOME: ${(error as Error).message}`));
      if (result === null)
        exit("another Drover process has been cleaning DROVER_HOME for 5 minutes; try again when it is done");
      process.stdout.write(renderPrune(result));
      if (result.overBudget && result.usage !== null && result.budget !== undefined)
        process.stderr.write(
          `drover: DROVER_HOME still holds ${formatBytes(result.usage)}, over DROVER_DISK_BUDGET ` +
            `(${formatBytes(result.budget)}); the rest is in use or belongs to repositories Drover is installed on\n`,
        );
    });
  },
};
