import { DEFAULT_CHAOS_TIMEOUT_MS, DEFAULT_FAULTS } from "../../demo/chaos/defaults.ts";
import { environment, exit } from "../env.ts";
import type { CliCommand } from "../command.ts";
import { readFlags } from "../command.ts";

const SYNOPSIS =
  "drover chaos [--runs N] [--seed S] [--kills N] [--flushall] [--pg-restart] [--timeout SECONDS]";

/** `chaos`'s flags, checked before anything starts. */
export function chaosOptions(args: string[]) {
  const { values } = readFlags("chaos", SYNOPSIS, {
    args,
    options: {
      runs: { type: "string", default: "1" },
      seed: { type: "string" },
      flushall: { type: "boolean", default: false },
      "pg-restart": { type: "boolean", default: false },
      kills: { type: "string", default: String(DEFAULT_FAULTS.kills) },
      timeout: { type: "string", default: String(DEFAULT_CHAOS_TIMEOUT_MS / 1000) },
    },
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) exit("--runs must be a whole number above 0");
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (seed !== undefined && !(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32))
    exit("--seed must be a whole number from 0 to 4294967295");
  const timeout = Number(values.timeout);
  if (!(timeout > 0)) exit("--timeout must be a number of seconds above 0");
  const kills = Number(values.kills);
  if (!Number.isInteger(kills) || kills < 0) exit("--kills must be a whole number (0 or more)");
  return {
    runs,
    seed,
    timeoutMs: timeout * 1000,
    faults: {
      ...DEFAULT_FAULTS,
      kills,
      flushAll: values.flushall,
      pgRestarts: values["pg-restart"] ? 1 : 0,
    },
  };
}

export const chaos: CliCommand = {
  name: "chaos",
  usage: `  chaos [--runs N] [--seed S] [--kills N] [--flushall] [--pg-restart] [--timeout SECONDS]
                                      the demo under random faults (workers killed, queue emptied,
                                      webhooks duplicated and reordered); one JSON line of what was
                                      lost or made twice (starts PostgreSQL and Redis when none run)
`,
  help: `Usage: ${SYNOPSIS}

Runs the demo's loop under random faults: worker processes killed mid-job, the queue emptied, webhooks
delivered twice and out of order (and, when asked, all of Redis flushed or PostgreSQL restarted), then
checks that every task still finished once: nothing lost, nothing made twice (pull requests, comments,
attempts). Prints one JSON line on stdout for all the runs; progress on stderr.
PostgreSQL and Redis: those at DATABASE_URL and REDIS_URL; when one is not named and none answers on this
machine, an embedded PostgreSQL starts under DROVER_HOME, and redis-server from the PATH (said on stderr).
Drover's processes hold tasks for DROVER_LEASE_MS when it is set (a killed worker's task is taken over
within about twice that; 15 s unset).

Options:
  --runs N           runs, each with its own faults (default 1)
  --seed S           the random seed, 0 to 4294967295; run i uses S + i (default: random, printed
                     so a run can be replayed)
  --kills N          worker processes killed per run (default ${DEFAULT_FAULTS.kills})
  --flushall         also empty all of Redis once (FLUSHALL) (default: off)
  --pg-restart       also restart PostgreSQL once; needs a server the test may restart (default: off)
  --timeout SECONDS  give up on a run after this long (default ${DEFAULT_CHAOS_TIMEOUT_MS / 1000})

Exit codes:
  0  every run ended with every task done once
  1  a run lost or doubled work, timed out, or PostgreSQL or Redis is unusable

Example:
  drover chaos --runs 5 --kills 2
`,
  async run(args) {
    const options = chaosOptions(args);
    const { withLocalServices } = await import("../../demo/local-services.ts");
    const env = await withLocalServices(environment()).catch((error: unknown) =>
      exit((error as Error).message),
    );
    const { runChaos } = await import("../../demo/chaos/run-chaos.ts");
    const report = await runChaos({
      runs: options.runs,
      seed: options.seed,
      databaseUrl: env.DATABASE_URL,
      redisUrl: env.REDIS_URL,
      leaseMs: env.DROVER_LEASE_MS,
      faults: options.faults,
      timeoutMs: options.timeoutMs,
      out: process.stdout,
      log: (line) => process.stderr.write(`${line}\n`),
    }).catch((error: unknown) => exit((error as Error).message));
    process.exit(report.ok ? 0 : 1);
  },
};
