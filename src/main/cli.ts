// `drover <command>`: the command line. Wiring only; each command's work lives in its module.
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { CONFIG_PATH } from "../config/schema.ts";
import { checkConfigText } from "../github/config-check.ts";
import { openDatabase } from "../db/client.ts";
import { loadGraph } from "../db/graph-rows.ts";
import { DatabaseUnreachableError, migrateDatabase } from "../db/migrate.ts";
import { parseArgv } from "../agent/parse-argv.ts";
import { DEFAULT_FAULTS } from "../demo/chaos/faults.ts";
import { DEFAULT_CHAOS_TIMEOUT_MS, runChaos } from "../demo/chaos/run-chaos.ts";
import { runDemo } from "../demo/run-demo.ts";
import { withLocalServices } from "../demo/local-services.ts";
import { parkedDeadLetters } from "../db/dead-letters.ts";
import { WorkQueue } from "../queue/queue.ts";
import { assertRedisUsable, connectRedis } from "../queue/redis.ts";
import { budgetsFromRedis } from "../github/budget.ts";
import { renderBudgets } from "../report/budget.ts";
import { renderDeadLetters, renderRetry } from "../report/dead-letters.ts";
import { renderTaskReport, reportRows } from "../report/task-report.ts";
import { retryDeadLetters } from "../scheduler/retry-dead-letters.ts";
import { startSandbox } from "../sandbox/server.ts";
import { formatBytes, renderPrune } from "../git/disk-plan.ts";
import { housekeepDisk } from "../scheduler/housekeeping.ts";
import { environment, exit, loadDotEnv } from "./boot.ts";
import { createApiToken, listApiTokens, revokeApiToken } from "../db/access.ts";
import { EventFeed } from "../db/event-feed.ts";
import type { EventFilter } from "../db/events.ts";
import { renderTokenCreated, renderTokens } from "../report/api-tokens.ts";
import { eventJson, eventLine } from "../report/event-line.ts";
import { parseEventQuery } from "../web/event-query.ts";
import { wantsHelp } from "./command.ts";
import { COMMANDS } from "./commands/index.ts";

const USAGE = `Usage: drover <command>   (drover <command> --help for its options)

Commands:
  status [--repo owner/name] [--tree] the repository's tasks, their states and what they wait for
                                      (--tree: stories with their sub-issues), then the work parked
                                      after failing for good (without --repo: all parked work), and
                                      each installation's GitHub request budget this hour
  retry --delivery ID | --job ID      run parked work again after a fix: the delivery's parked jobs,
                                      or one parked job (ids as \`drover status\` shows them)
  migrate                             create the database if needed and apply migrations
  demo [--json] [--workers N] [--agent-command "<cmd>"] [--timeout SECONDS] [--keep] [--dashboard]
                                      the whole loop on this machine against a local stand-in for
                                      GitHub, with no credentials (needs PostgreSQL and Redis);
                                      --dashboard keeps Drover up after the tasks finish and prints
                                      the dashboard's URL and a signed-in link (Ctrl-C stops it)
  chaos [--runs N] [--seed S] [--kills N] [--flushall] [--pg-restart] [--timeout SECONDS]
                                      the demo under random faults (workers killed, queue emptied,
                                      webhooks duplicated and reordered); one JSON line of what was
                                      lost or made twice (needs PostgreSQL and Redis)
  sandbox [--port N] [--webhook-url URL] [--webhook-secret S]
                                      run the local stand-in for GitHub; prints one JSON line with
                                      its URLs, app credentials and seeded users' tokens
  worktree prune [--all]              free disk under DROVER_HOME now, as each worker does every 10
                                      minutes: run directories older than DROVER_KEEP_RUNS, what
                                      crashes left, then DROVER_DISK_BUDGET; --all also removes every
                                      idle pooled worktree, finished run directory and package cache,
                                      and mirrors of repositories Drover left (never a claimed worktree
                                      or a running attempt's directory)
  stream [--type completed,failed] [--repo owner/name] [--story N] [--since ISO-time] [--json]
                                      what happens to tasks, a line per event, live until Ctrl-C;
                                      --since first shows what happened from then; --type takes
                                      event types (task.failed), short names (failed) or families
                                      (pr); --story N (with --repo) a story's sub-issues and its
                                      own; --json: NDJSON, as GET /drover/api/events sends
  token create --name NAME [--repo owner/name ...] [--write]
                                      issue an API token for /drover/api/... and the dashboard:
                                      shown once; --repo limits what it reads (default: every
                                      repository), --write lets it use the controls
  token list                          the tokens issued (never their secrets) and their last use
  token revoke ID                     stop honouring token ID at once
  config check [path]                 check a drover.yml (default .github/drover.yml) as the app does,
                                      with the messages it would post; exit 1 when it is not valid,
                                      2 when the named file is missing
  help                                this text
`;

/** The whole usage: the commands still written here, then those in modules of their own. */
function usage(): string {
  return USAGE.replace(/ {2}help {2,}/, (line) => `${COMMANDS.map((entry) => entry.usage).join("")}${line}`);
}

/** `demo --dashboard`: Drover stays up until Ctrl-C (or a SIGTERM), then the demo stops it as usual. */
function untilInterrupted(): Promise<void> {
  return new Promise((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
}

/** How long `worktree prune` waits for a worker's housekeeping pass on the same DROVER_HOME to end. */
const PRUNE_WAIT_MS = 5 * 60_000;

loadDotEnv();
const [command = "help", ...rest] = process.argv.slice(2);
const registered = COMMANDS.find((entry) => entry.name === command);
if (registered) {
  if (wantsHelp(rest)) process.stdout.write(registered.help);
  else await registered.run(rest);
} else
  switch (command) {
    case "status": {
      const { values } = parseArgs({
        args: rest,
        options: { repo: { type: "string" }, tree: { type: "boolean", default: false } },
      });
      const repo = values.repo;
      if (repo !== undefined && !/^[^/\s]+\/[^/\s]+$/.test(repo))
        exit(`--repo must be owner/name\n\n${USAGE}`);
      const env = environment();
      await migrate(env.DATABASE_URL);
      const database = openDatabase(env.DATABASE_URL, { max: 2 });
      try {
        if (repo !== undefined) {
          const { rows, edges } = reportRows(await loadGraph(database.db));
          process.stdout.write(renderTaskReport({ repoFullName: repo, rows, edges, tree: values.tree }));
        }
        const parked = await parkedDeadLetters(database.db, repo === undefined ? {} : { repoFullName: repo });
        process.stdout.write(renderDeadLetters(parked));
        process.stdout.write(renderBudgets(await budgetsFromRedis(env.REDIS_URL, env.DROVER_QUEUE_PREFIX)));
      } catch (error) {
        exit(`could not read PostgreSQL at DATABASE_URL: ${(error as Error).message}`);
      } finally {
        await database.close();
      }
      break;
    }
    case "retry": {
      const { values } = parseArgs({
        args: rest,
        options: { delivery: { type: "string" }, job: { type: "string" } },
      });
      const target =
        values.delivery !== undefined && values.job === undefined
          ? { deliveryId: values.delivery }
          : values.job !== undefined && values.delivery === undefined
            ? { jobId: values.job }
            : exit(`retry needs one of --delivery ID or --job ID\n\n${USAGE}`);
      const env = environment();
      await migrate(env.DATABASE_URL);
      await assertRedisUsable(env.REDIS_URL).catch((error: unknown) => exit((error as Error).message));
      const database = openDatabase(env.DATABASE_URL, { max: 2 });
      const redis = connectRedis(env.REDIS_URL);
      const queue = new WorkQueue(redis, env.DROVER_QUEUE_PREFIX, (error) =>
        process.stderr.write(`drover: queue error: ${error.message}\n`),
      );
      try {
        const { text, ok } = renderRetry(await retryDeadLetters({ db: database.db, queue }, target));
        (ok ? process.stdout : process.stderr).write(ok ? text : `drover: ${text}`);
        process.exitCode = ok ? 0 : 1;
      } finally {
        await queue.close();
        redis.disconnect();
        await database.close();
      }
      break;
    }
    case "migrate": {
      await migrate(environment().DATABASE_URL);
      process.stdout.write("drover: database is up to date\n");
      break;
    }
    case "demo": {
      const { values } = parseArgs({
        args: rest,
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
      const env = await withLocalServices(environment()).catch((error: unknown) =>
        exit((error as Error).message),
      );
      const summary = await runDemo({
        json: values.json,
        agentCommand,
        workers,
        timeoutMs: timeout * 1000,
        keep: values.keep,
        databaseUrl: env.DATABASE_URL,
        redisUrl: env.REDIS_URL,
        out: process.stdout,
        ...(values.dashboard ? { dashboard: untilInterrupted } : {}),
      }).catch((error: unknown) => exit((error as Error).message));
      process.exit(summary.ok ? 0 : 1);
      break;
    }
    case "chaos": {
      const { values } = parseArgs({
        args: rest,
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
      const env = await withLocalServices(environment()).catch((error: unknown) =>
        exit((error as Error).message),
      );
      const report = await runChaos({
        runs,
        seed,
        databaseUrl: env.DATABASE_URL,
        redisUrl: env.REDIS_URL,
        faults: {
          ...DEFAULT_FAULTS,
          kills,
          flushAll: values.flushall,
          pgRestarts: values["pg-restart"] ? 1 : 0,
        },
        timeoutMs: timeout * 1000,
        out: process.stdout,
        log: (line) => process.stderr.write(`${line}\n`),
      }).catch((error: unknown) => exit((error as Error).message));
      process.exit(report.ok ? 0 : 1);
      break;
    }
    case "sandbox": {
      const { values } = parseArgs({
        args: rest,
        options: {
          port: { type: "string", default: "0" },
          "webhook-url": { type: "string", default: "http://127.0.0.1:3000/api/github/webhooks" },
          "webhook-secret": { type: "string" },
          quiet: { type: "boolean", default: false },
        },
      });
      const port = Number(values.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        exit("--port must be a port number (0 picks a free one)");
      const sandbox = await startSandbox({
        port,
        webhookUrl: values["webhook-url"],
        ...(values["webhook-secret"] ? { webhookSecret: values["webhook-secret"] } : {}),
        ...(values.quiet ? {} : { log: (line: string) => process.stderr.write(`sandbox: ${line}\n`) }),
      }).catch((error: unknown) => exit(`the sandbox could not start: ${(error as Error).message}`));
      process.stdout.write(`${JSON.stringify({ ...sandbox.describe(), env: sandbox.droverEnv() })}\n`);
      const stop = () => void sandbox.close().then(() => process.exit(0));
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
      break;
    }
    case "worktree": {
      const [subcommand, ...args] = rest;
      if (subcommand !== "prune")
        exit(
          `${subcommand === undefined ? "worktree needs a subcommand" : `unknown worktree subcommand "${subcommand}"`}: drover worktree prune [--all]`,
        );
      const all = pruneArgs(args);
      const env = environment();
      await migrate(env.DATABASE_URL);
      const database = openDatabase(env.DATABASE_URL, { max: 2 });
      try {
        const result = await housekeepDisk(
          { db: database.db, env },
          { all, measure: true, waitMs: PRUNE_WAIT_MS },
        ).catch((error: unknown) => exit(`could not prune DROVER_HOME: ${(error as Error).message}`));
        if (result === null)
          exit(
            "another Drover process has been cleaning DROVER_HOME for 5 minutes; try again when it is done",
          );
        process.stdout.write(renderPrune(result));
        if (result.overBudget && result.usage !== null && result.budget !== undefined)
          process.stderr.write(
            `drover: DROVER_HOME still holds ${formatBytes(result.usage)}, over DROVER_DISK_BUDGET ` +
              `(${formatBytes(result.budget)}); the rest is in use or belongs to repositories Drover is installed on\n`,
          );
      } finally {
        await database.close();
      }
      break;
    }
    case "stream": {
      const { filter, afterSeq, json } = streamArgs(rest);
      const env = environment();
      await migrate(env.DATABASE_URL);
      const database = openDatabase(env.DATABASE_URL, { max: 2 });
      const feed = new EventFeed(database.db, database.sql, (error) =>
        process.stderr.write(`drover: reading events failed: ${error.message}\n`),
      );
      await feed
        .start()
        .catch((error: unknown) =>
          exit(`could not read PostgreSQL at DATABASE_URL: ${(error as Error).message}`),
        );
      const render = json ? eventJson : eventLine;
      feed.subscribe(filter, afterSeq, (event) => process.stdout.write(render(event)));
      process.stderr.write("drover: following events as they happen; Ctrl-C stops\n");
      const stop = () =>
        void feed
          .close()
          .then(() => database.close())
          .finally(() => process.exit(0));
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      // Piped into `head`: the reader left, which is the end of the stream, not an error.
      process.stdout.on("error", stop);
      break;
    }
    case "token": {
      const action = tokenArgs(rest);
      const env = environment();
      await migrate(env.DATABASE_URL);
      const database = openDatabase(env.DATABASE_URL, { max: 2 });
      try {
        if (action.kind === "create") {
          const issued = await createApiToken(database.db, action.token);
          process.stdout.write(renderTokenCreated({ ...action.token, ...issued }));
        } else if (action.kind === "list") {
          process.stdout.write(renderTokens(await listApiTokens(database.db)));
        } else {
          if (!(await revokeApiToken(database.db, action.id)))
            exit(`no live token ${action.id}: \`drover token list\` shows the tokens and which are revoked`);
          process.stdout.write(
            `drover: token ${action.id} is revoked; requests with it are refused from now on\n`,
          );
        }
      } finally {
        await database.close();
      }
      break;
    }
    case "config": {
      const [subcommand, ...args] = rest;
      if (subcommand !== "check")
        exit(
          `${subcommand === undefined ? "config needs a subcommand" : `unknown config subcommand "${subcommand}"`}: drover config check [path]`,
        );
      if (args.length > 1 || args.some((arg) => arg.startsWith("-")))
        exit(`config check takes one path at most, got ${args.join(" ")}: drover config check [path]`);
      const named = args[0];
      const file = named ?? CONFIG_PATH;
      const text = await readFile(file, "utf8").catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT")
          exit(`cannot read ${file}: ${(error as Error).message}`);
        return null;
      });
      if (text === null) {
        if (named !== undefined) {
          process.stderr.write(`drover: no file at ${named}\n`);
          process.exit(2);
        }
        process.stdout.write(`No ${CONFIG_PATH} here: Drover uses its defaults for this repository.\n`);
        break;
      }
      const checked = checkConfigText(text, file);
      process.stdout.write(checked.output.endsWith("\n") ? checked.output : `${checked.output}\n`);
      if (!checked.ok) process.exitCode = 1;
      break;
    }
    case "help":
    case "--help":
      process.stdout.write(usage());
      break;
    default:
      exit(`unknown command "${command}"\n\n${USAGE}`);
  }

/** `prune`'s arguments: `--all` or nothing; anything else is refused, saying what is accepted. */
function pruneArgs(args: string[]): boolean {
  try {
    const { values } = parseArgs({
      args,
      options: { all: { type: "boolean", default: false } },
      strict: true,
    });
    return values.all;
  } catch (error) {
    exit(`worktree prune: ${(error as Error).message}; usage: drover worktree prune [--all]`);
  }
}

/** `stream`'s options, read by the same rules as the events API's query; anything else is refused. */
function streamArgs(args: string[]): { filter: EventFilter; afterSeq: number | null; json: boolean } {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        type: { type: "string", multiple: true },
        repo: { type: "string", multiple: true },
        story: { type: "string" },
        since: { type: "string" },
        json: { type: "boolean", default: false },
      },
      strict: true,
    }));
  } catch (error) {
    exit(`stream: ${(error as Error).message}\n\n${USAGE}`);
  }
  const query = new URLSearchParams();
  for (const type of values.type ?? []) query.append("type", type);
  for (const repo of values.repo ?? []) query.append("repo", repo);
  if (values.story !== undefined) query.set("story", values.story);
  if (values.since !== undefined) query.set("since", values.since);
  const parsed = parseEventQuery(new URL(`http://drover.invalid/?${query.toString()}`), {});
  // The API's errors name its parameters ("type: ..."); here they are options.
  if ("error" in parsed) exit(`--${parsed.error}`);
  return { filter: parsed.filter, afterSeq: parsed.afterSeq, json: values.json };
}

/** `token create`'s options: a name, the repositories it may read (none given: every one), and --write. */
function tokenCreateArgs(args: string[]): { name: string; repos: string[] | null; canWrite: boolean } {
  const usage = "usage: drover token create --name NAME [--repo owner/name ...] [--write]";
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        name: { type: "string" },
        repo: { type: "string", multiple: true },
        write: { type: "boolean", default: false },
      },
      strict: true,
    }));
  } catch (error) {
    exit(`token create: ${(error as Error).message}; ${usage}`);
  }
  const name = values.name?.trim() ?? "";
  if (!name) exit(`token create needs --name, saying who or what holds it (e.g. --name grafana); ${usage}`);
  if (name.length > 100) exit("--name is longer than 100 characters");
  const repos = values.repo ?? [];
  const bad = repos.find((repo) => !/^[\w.-]+\/[\w.-]+$/.test(repo));
  if (bad !== undefined) exit(`--repo "${bad}" is not a repository; use owner/name`);
  return { name, repos: repos.length > 0 ? repos : null, canWrite: values.write };
}

/** `token`'s subcommand and its arguments, checked before the database is opened. */
function tokenArgs(
  rest: string[],
):
  | { kind: "create"; token: ReturnType<typeof tokenCreateArgs> }
  | { kind: "list" }
  | { kind: "revoke"; id: number } {
  const [subcommand, ...args] = rest;
  switch (subcommand) {
    case "create":
      return { kind: "create", token: tokenCreateArgs(args) };
    case "list":
      if (args.length > 0) exit(`token list takes no arguments (got ${args.join(" ")})`);
      return { kind: "list" };
    case "revoke":
      if (args.length !== 1 || !/^\d{1,9}$/.test(args[0] ?? ""))
        exit(
          "token revoke takes a token's id: drover token revoke ID (ids as `drover token list` shows them)",
        );
      return { kind: "revoke", id: Number(args[0]) };
    default:
      exit(
        `${subcommand === undefined ? "token needs a subcommand" : `unknown token subcommand "${subcommand}"`}: drover token create --name NAME [--repo owner/name ...] [--write] | list | revoke ID`,
      );
  }
}

async function migrate(url: string): Promise<void> {
  try {
    await migrateDatabase(url);
  } catch (error) {
    if (error instanceof DatabaseUnreachableError) exit(error.message);
    throw error;
  }
}
