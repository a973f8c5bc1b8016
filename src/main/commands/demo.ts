import { parseArgv } from "../../agent/parse-argv.ts";
import { environment, exit } from "../env.ts";
import type { CliCommand } from "../command.ts";
import { readFlags, untilInterrupted } from "../command.ts";

const SYNOPSIS =
  'drover demo [--json] [--workers N] [--agent-command "<cmd>"] [--timeout SECONDS] [--keep] [--dashboard]';

export type DemoOptions = {
  json: boolean;
  workers: number;
  agentCommand: string[] | undefined;
  timeoutMs: number;
  keep: boolean;
  dashboard: boolean;
};

/** `demo`'s flags, checked before anything starts. */
export function demoOptions(args: string[]): DemoOptions {
  const { values } = readFlags("demo", SYNOPSIS, {
    args,
    options: {
      json: { type: "boolean", default: false },
      workers: { type: "string", default: "3" },
      "agent-command": { type: "string" },
      timeout: { type: "string", default: "300" },
      keep: { type: "boolean", default: false },
      dashboard: { type: "boolean", default: false },
    },
  });
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 16)
    exit("--workers must be a whole number from 1 to 16");
  const timeout = Number(values.timeout);
  if (!(timeout > 0)) exit("--timeout must be a number of seconds above 0");
  let agentCommand: string[] | undefined;
  try {
    agentCommand = values["agent-command"] === undefined ? undefined : parseArgv(values["agent-command"]);
  } catch (error) {
    exit(`--agent-command: ${(error as Error).message}`);
  }
  if (agentCommand?.length === 0)
    exit('--agent-command is empty; give a program, e.g. --agent-command "node my-agent.mjs"');
  return {
    json: values.json,
    workers,
    agentCommand,
    timeoutMs: timeout * 1000,
    keep: values.keep,
    dashboard: values.dashboard,
  };
}

export const demo: CliCommand = {
  name: "demo",
  usage: `  demo [--json] [--workers N] [--agent-command "<cmd>"] [--timeout SECONDS] [--keep] [--dashboard]
                                      the whole loop on this machine against a local stand-in for
                                      GitHub, with no credentials (starts PostgreSQL and Redis
                                      when none run); --dashboard keeps Drover up after the tasks
                                      finish and prints the dashboard's URL and a signed-in link
                                      (Ctrl-C stops it)
`,
  help: `Usage: ${SYNOPSIS}

Runs Drover's whole loop on this machine against the sandbox, a local stand-in for GitHub: a repository
with a small graph of issues, labelled for Drover; workers run an agent on each ready task, open pull
requests, merge them, and the tasks they blocked start. Needs no GitHub credentials. Prints what
happened to each task and a summary.
PostgreSQL and Redis: those at DATABASE_URL and REDIS_URL; when one is not named and none answers on this
machine, an embedded PostgreSQL starts under DROVER_HOME, and redis-server from the PATH (said on stderr).

Options:
  --json                   one JSON line per task and one for the run, instead of live progress
                           (default: off)
  --workers N              agent runs at once, 1 to 16 (default 3)
  --agent-command "<cmd>"  the agent to run in each task's worktree, split as a shell would but never
                           run through one (default: a scripted agent that edits the files)
  --timeout SECONDS        give up when the tasks are not done by then (default 300)
  --keep                   keep the sandbox's repositories, Drover's home, the logs and the demo's
                           database afterwards, and print where (default: all removed)
  --dashboard              stay up after the tasks finish, printing the dashboard's URL and a
                           signed-in link, until Ctrl-C (default: off)

Exit codes:
  0  every task finished as expected
  1  a task did not, the timeout passed, or PostgreSQL or Redis is unusable

Example:
  drover demo --workers 2 --dashboard
`,
  async run(args) {
    const options = demoOptions(args);
    // No PostgreSQL or Redis running (and none named): local ones are started, and that is said.
    const { withLocalServices } = await import("../../demo/local-services.ts");
    const env = await withLocalServices(environment()).catch((error: unknown) =>
      exit((error as Error).message),
    );
    const { runDemo } = await import("../../demo/run-demo.ts");
    const summary = await runDemo({
      json: options.json,
      agentCommand: options.agentCommand,
      workers: options.workers,
      timeoutMs: options.timeoutMs,
      keep: options.keep,
      databaseUrl: env.DATABASE_URL,
      redisUrl: env.REDIS_URL,
      out: process.stdout,
      ...(options.dashboard ? { dashboard: untilInterrupted } : {}),
    }).catch((error: unknown) => exit((error as Error).message));
    process.exit(summary.ok ? 0 : 1);
  },
};
