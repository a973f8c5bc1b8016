import type { Database } from "../../db/client.ts";
import {
  CLEAR_SCREEN,
  HIDE_CURSOR,
  SHOW_CURSOR,
  readAtLine,
  unreadableLine,
  watchFrame,
} from "../../report/watch.ts";
import type { DroverEnv } from "../../config/env.ts";
import { environment, exit } from "../env.ts";
import type { CliCommand } from "../command.ts";
import { readFlags, repoFlag, withOperatorDatabase } from "../command.ts";

const SYNOPSIS = "drover status [--repo owner/name] [--tree] [--watch [--interval SECONDS]]";
const DEFAULT_INTERVAL_SECONDS = 2;

export type StatusOptions = {
  repo: string | undefined;
  tree: boolean;
  /** Seconds between reads when watching; null: read once. */
  watchSeconds: number | null;
};

/** `status`'s flags, checked before the database is opened. */
export function statusOptions(args: string[]): StatusOptions {
  const { values } = readFlags("status", SYNOPSIS, {
    args,
    options: {
      repo: { type: "string" },
      tree: { type: "boolean", default: false },
      watch: { type: "boolean", default: false },
      interval: { type: "string" },
    },
  });
  const repo = repoFlag(values.repo, SYNOPSIS);
  if (values.interval !== undefined && !values.watch)
    exit(
      `--interval is how often --watch reads again: add --watch, or leave --interval out; usage: ${SYNOPSIS}`,
    );
  const interval = values.interval === undefined ? DEFAULT_INTERVAL_SECONDS : Number(values.interval);
  if (!(Number.isFinite(interval) && interval >= 1 && interval <= 3600))
    exit(`--interval must be a number of seconds from 1 to 3600 (got "${values.interval}")`);
  return { repo, tree: values.tree, watchSeconds: values.watch ? interval : null };
}

export const status: CliCommand = {
  name: "status",
  usage: `  status [--repo owner/name] [--tree] [--watch [--interval SECONDS]]
                                      the repository's tasks, their states and what they wait for
                                      (--tree: stories with their sub-issues), then the work parked
                                      after failing for good (without --repo: all parked work), and
                                      each installation's GitHub request budget this hour; --watch
                                      reads it again every --interval seconds (2) until Ctrl-C
`,
  help: `Usage: ${SYNOPSIS}

Prints, from PostgreSQL and Redis (nothing is asked of GitHub):
  - with --repo, the repository's tasks: each one's state, why, and what it waits for;
  - the work parked after failing for good (a job that used up its tries), with the command that
    retries it: the repository's (and what names no repository) with --repo, all of it without;
  - each installation's GitHub request budget in the last hour.

Options:
  --repo owner/name     the repository whose tasks to show (default: no task list, all parked work)
  --tree                tasks as stories with their sub-issues, indented (default: a flat list)
  --watch               keep reading until Ctrl-C: on a terminal the report is redrawn in place with
                        the time it was read; otherwise (a pipe, a log) it is printed again only when
                        it changed, after a "--- <time> ---" line. When PostgreSQL stops answering, it
                        says so once and keeps trying (default: read once)
  --interval SECONDS    with --watch: seconds between reads, 1 to 3600 (default ${DEFAULT_INTERVAL_SECONDS})

Exit codes:
  0  printed; with --watch, stopped by Ctrl-C or SIGTERM
  1  a bad option, or PostgreSQL did not answer (at the start, with --watch)

Examples:
  drover status --repo octo/widgets --tree
  drover status --repo octo/widgets --watch --interval 5
`,
  async run(args) {
    const options = statusOptions(args);
    const env = environment();
    await withOperatorDatabase(env, async (database) => {
      const read = () => readStatus(database, env, options);
      if (options.watchSeconds === null)
        process.stdout.write(
          await read().catch((error: unknown) =>
            exit(`could not read PostgreSQL at DATABASE_URL: ${(error as Error).message}`),
          ),
        );
      else await watch(read, options.watchSeconds, process.stdout, process.stderr);
    });
  },
};

/** The whole report, as `drover status` prints it. Throws when PostgreSQL cannot be read. */
async function readStatus(database: Database, env: DroverEnv, options: StatusOptions): Promise<string> {
  const { parkedDeadLetters } = await import("../../db/dead-letters.ts");
  const { loadGraph } = await import("../../db/graph-rows.ts");
  const { budgetsFromRedis } = await import("../../github/budget.ts");
  const { renderBudgets } = await import("../../report/budget.ts");
  const { renderDeadLetters } = await import("../../report/dead-letters.ts");
  const { renderTaskReport, reportRows } = await import("../../report/task-report.ts");
  let text = "";
  if (options.repo !== undefined) {
    const { rows, edges } = reportRows(await loadGraph(database.db));
    text += renderTaskReport({ repoFullName: options.repo, rows, edges, tree: options.tree });
  }
  const parked = await parkedDeadLetters(
    database.db,
    options.repo === undefined ? {} : { repoFullName: options.repo },
  );
  text += renderDeadLetters(parked);
  text += renderBudgets(await budgetsFromRedis(env.REDIS_URL, env.DROVER_QUEUE_PREFIX));
  return text;
}

type Out = { write(text: string): unknown; isTTY?: boolean };

/**
 * Reads the report every `seconds` until SIGINT or SIGTERM. A read that fails (PostgreSQL restarting or
 * gone) is said once and tried again: the pool reconnects by itself when PostgreSQL is back.
 */
async function watch(read: () => Promise<string>, seconds: number, out: Out, err: Out): Promise<void> {
  const tty = out.isTTY === true;
  let stopped = false;
  let wake = () => {};
  let interrupt = () => {};
  // Ctrl-C does not wait for a read in flight (connecting to a PostgreSQL that is gone can take 30 s).
  const interrupted = new Promise<null>((resolve) => (interrupt = () => resolve(null)));
  const stop = () => {
    stopped = true;
    wake();
    interrupt();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  let last: string | null = null;
  let lastRead: Date | null = null;
  let failing = false;
  if (tty) out.write(`${HIDE_CURSOR}${CLEAR_SCREEN}`);
  try {
    while (!stopped) {
      const at = new Date();
      try {
        const report = await Promise.race([read(), interrupted]);
        if (report === null) break;
        if (tty) out.write(watchFrame(report, readAtLine(at, seconds)));
        else {
          if (failing) err.write("drover: PostgreSQL answers again\n");
          if (report !== last)
            out.write(`--- ${at.toISOString().slice(0, 19).replace("T", " ")} UTC ---\n${report}`);
        }
        last = report;
        lastRead = at;
        failing = false;
      } catch (error) {
        const message = (error as Error).message;
        if (tty) out.write(watchFrame(last ?? "", unreadableLine(at, message, seconds, lastRead)));
        else if (!failing)
          err.write(
            `drover: could not read PostgreSQL at DATABASE_URL (${message}); trying again every ${seconds} s\n`,
          );
        failing = true;
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, seconds * 1000);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    process.removeListener("SIGINT", stop);
    process.removeListener("SIGTERM", stop);
    if (tty) out.write(`${SHOW_CURSOR}\n`);
  }
}
