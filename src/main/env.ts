import { readEnv, type DroverEnv } from "../config/env.ts";
import { parseNotifyEnv } from "../config/notify.ts";

/**
 * What every entry point does first: `.env` read, the environment validated, and the one-line exit. Light
 * on purpose (no Probot, no jobs): the `drover` command loads this for every command, and the rest only
 * for the command that needs it.
 */

/** DROVER_NOTIFY read, or one line naming what is wrong and exit 1 (the same rules as drover.yml's `notify`). */
export function notifyTargets(env: DroverEnv) {
  try {
    return parseNotifyEnv(env.DROVER_NOTIFY, env.DROVER_NOTIFY_PRIVATE === "allow");
  } catch (error) {
    exit((error as Error).message);
  }
}

/** One clear line and a non-zero exit: for a person starting Drover, not a stack trace. */
export function exit(message: string): never {
  process.stderr.write(`drover: ${message}\n`);
  process.exit(1);
}

/** The validated environment, or one line naming what is wrong. */
export function environment(): DroverEnv {
  let env: DroverEnv;
  try {
    env = readEnv();
  } catch (error) {
    exit((error as Error).message);
  }
  // Checked before anything starts, so a bad target list stops the process with one line, not a worker later.
  notifyTargets(env);
  return env;
}

/** Reads `.env` from the working directory when there is one (as Probot does). */
export function loadDotEnv(): void {
  try {
    process.loadEnvFile();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}
