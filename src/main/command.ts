import { parseArgs, type ParseArgsConfig } from "node:util";
import type { DroverEnv } from "../config/env.ts";
import type { Database } from "../db/client.ts";
import { exit } from "./env.ts";

/**
 * One `drover` subcommand: its line in the usage, its whole `--help`, and what it does. Each lives in
 * src/main/commands/<name>.ts and is listed in src/main/commands/index.ts; src/main/cli.ts only dispatches.
 *
 * `run` reads its own arguments (refusing what it does not take, with the usage), does the work and sets
 * `process.exitCode` (or calls `exit` from env.ts with one line). Exit codes: 0 done, 1 failed or refused,
 * 2 only where the command's help says what else 2 means (e.g. a missing file).
 */
export type CliCommand = {
  name: string;
  /** Its entry in `drover help`: the synopsis, then what it does, indented as the other entries are. */
  usage: string;
  /** `drover <name> --help`: synopsis, what it does, each option, exit codes, an example. */
  help: string;
  run(args: string[]): Promise<void>;
};

/** True when the arguments ask for the command's help (`--help` or `-h` anywhere). */
export function wantsHelp(args: readonly string[]): boolean {
  return args.includes("--help") || args.includes("-h");
}

/**
 * The command's flags read strictly (node:util parseArgs, strict by default): an unknown flag, a missing value or a stray
 * argument ends the command with one line naming it and giving the synopsis (`synopsis` starts "drover "),
 * and exit 1.
 */
export function readFlags<const T extends ParseArgsConfig>(
  name: string,
  synopsis: string,
  config: T,
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    // node's message may run over lines ("...is ambiguous.\nDid you forget..."): one line here.
    const message = (error as Error).message.replace(/\s*\n\s*/g, " ").replace(/\.$/, "");
    exit(`${name}: ${message}; usage: ${synopsis}`);
  }
}

/** "owner/name", or exit 1 naming the flag. */
export function repoFlag(value: string | undefined, synopsis: string): string | undefined {
  if (value !== undefined && !isRepoName(value))
    exit(`--repo must be owner/name (got "${value}"); usage: ${synopsis}`);
  return value;
}

/** Whether `value` is a repository as GitHub names them: owner/name, letters, digits, `-`, `_` and `.`. Pure. */
export function isRepoName(value: string): boolean {
  return /^[\w.-]+\/[\w.-]+$/.test(value);
}

/** The database migrated, or the one line saying PostgreSQL does not answer. */
export async function migrateOrExit(url: string): Promise<void> {
  const { DatabaseUnreachableError, migrateDatabase } = await import("../db/migrate.ts");
  try {
    await migrateDatabase(url);
  } catch (error) {
    if (error instanceof DatabaseUnreachableError) exit(error.message);
    throw error;
  }
}

/**
 * Drover's database, for a command run where Drover runs (`status`, `token`, `retry`, ...): migrated (or
 * the one line saying PostgreSQL does not answer), opened with two connections, handed to `use`, closed.
 * The client is loaded here, not for every `drover` command.
 */
export async function withOperatorDatabase<T>(
  env: DroverEnv,
  use: (database: Database) => Promise<T>,
): Promise<T> {
  await migrateOrExit(env.DATABASE_URL);
  const { openDatabase } = await import("../db/client.ts");
  const database = openDatabase(env.DATABASE_URL, { max: 2 });
  try {
    return await use(database);
  } finally {
    await database.close();
  }
}

/** Resolves on the first Ctrl-C (SIGINT) or SIGTERM: the end of a command that runs until stopped. */
export function untilInterrupted(): Promise<void> {
  return new Promise((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
}

/** `drover help`: every command's entry, in the order given. */
export function usage(commands: readonly CliCommand[]): string {
  return (
    "Usage: drover <command>   (drover <command> --help for its options)\n\nCommands:\n" +
    commands.map((command) => command.usage).join("") +
    "  help                                this text\n"
  );
}
