/**
 * One `drover` subcommand: its line in the usage, its whole `--help`, and what it does. Each lives in
 * src/main/commands/<name>.ts and is listed in src/main/commands/index.ts; src/main/cli.ts only dispatches.
 *
 * `run` reads its own arguments (refusing what it does not take, with the usage), does the work and sets
 * `process.exitCode` (or calls `exit` from boot.ts with one line). Exit codes: 0 done, 1 failed or refused,
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
