import { execa, ExecaError } from "execa";

/** Default limit for one git call; long fetches pass their own. */
export const DEFAULT_GIT_TIMEOUT_MS = 120_000;
/** How much of git's stderr an error keeps (its end). */
export const STDERR_TAIL_CHARS = 2_000;
/** Between SIGTERM and SIGKILL when a git call times out or is cancelled. */
export const GIT_KILL_GRACE_MS = 5_000;

export interface GitErrorDetails {
  /** The git subcommand (`fetch`, `push`, ...) or, for checks that run no git, what was checked. */
  subcommand: string;
  exitCode?: number | undefined;
  /** The end of git's stderr, with anything Drover passed as credentials removed. */
  stderrTail?: string | undefined;
  timedOut?: boolean | undefined;
  isCanceled?: boolean | undefined;
  cause?: unknown;
}

/** Every failure of `src/git/` surfaces as this. Its text never holds the installation token. */
export class GitError extends Error {
  override name = "GitError";
  readonly subcommand: string;
  readonly exitCode: number | undefined;
  readonly stderrTail: string;
  readonly timedOut: boolean;
  readonly isCanceled: boolean;

  constructor(message: string, details: GitErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.subcommand = details.subcommand;
    this.exitCode = details.exitCode;
    this.stderrTail = details.stderrTail ?? "";
    this.timedOut = details.timedOut ?? false;
    this.isCanceled = details.isCanceled ?? false;
  }
}

export interface RunGitOptions {
  cwd: string;
  /** Kill git after this long. Default 120 000 ms. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Added to the controlled base environment (never the caller's whole `process.env`). */
  env?: Record<string, string>;
  /** Written to git's stdin; without it stdin is closed. */
  input?: string;
}

/**
 * Runs `git ...args` and returns its stdout, trimmed.
 *
 * The environment is built from scratch: the operator's global and system git config, any `GIT_DIR`
 * inherited from a hook, and terminal prompts can never change what Drover's git calls do.
 */
export async function runGit(args: readonly string[], opts: RunGitOptions): Promise<string> {
  const env = { ...gitBaseEnv(), ...opts.env };
  const timeoutMs = opts.timeoutMs ?? DEFAULT_GIT_TIMEOUT_MS;
  try {
    const subprocess = execa("git", args, {
      cwd: opts.cwd,
      env,
      extendEnv: false,
      timeout: timeoutMs,
      forceKillAfterDelay: GIT_KILL_GRACE_MS,
      // Own process group, so helpers git started (remote-https, ssh, alias shells) die with it: after a
      // timeout they would otherwise hold our pipes open and the call would not return.
      detached: true,
      ...(opts.signal ? { cancelSignal: opts.signal } : {}),
      ...(opts.input === undefined ? { stdin: "ignore" as const } : { input: opts.input }),
    });
    reapGroup(subprocess);
    const result = await subprocess;
    return String(result.stdout).trim();
  } catch (error) {
    throw toGitError(error, subcommandOf(args), timeoutMs, secretsIn(env));
  }
}

/**
 * For a `detached` git (its own process group): kills what is left of the group once git exits, and when
 * this process exits first. execa's `cleanup` does not cover detached subprocesses.
 */
export function reapGroup(subprocess: {
  pid?: number | undefined;
  once(event: "exit", listener: () => void): unknown;
}): void {
  const pid = subprocess.pid;
  if (pid === undefined) return;
  liveGroups.add(pid);
  subprocess.once("exit", () => {
    liveGroups.delete(pid);
    killGroup(pid);
  });
}

const liveGroups = new Set<number>();
process.once("exit", () => {
  for (const pid of liveGroups) killGroup(pid);
});

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // ESRCH: the group is already gone, the usual case.
  }
}

/** What every git call starts from: no prompts, no system or global config, only PATH, HOME and LANG. */
export function gitBaseEnv(): Record<string, string> {
  const env: Record<string, string> = {
    GIT_TERMINAL_PROMPT: "0",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
  };
  for (const key of ["PATH", "HOME", "LANG"] as const) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}

/** The first argument that is neither an option nor the value of `-c`/`-C`. */
export function subcommandOf(args: readonly string[]): string {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (arg === "-c" || arg === "-C") i++;
    else if (!arg.startsWith("-")) return arg;
  }
  return "git";
}

/**
 * Config values passed through the environment may carry the token (see `credentialEnv`); scrub them,
 * their base64 payload and the decoded token from anything we surface.
 */
function secretsIn(env: Record<string, string>): string[] {
  const secrets: string[] = [];
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith("GIT_CONFIG_VALUE_") || value === "") continue;
    secrets.push(value);
    const basic = /basic\s+(\S+)/i.exec(value)?.[1];
    if (basic) {
      secrets.push(basic);
      const decoded = Buffer.from(basic, "base64").toString("utf8");
      const password = decoded.slice(decoded.indexOf(":") + 1);
      if (password.length >= 4) secrets.push(decoded, password);
    }
  }
  // Longest first, so a secret containing another is replaced whole.
  return secrets.sort((a, b) => b.length - a.length);
}

export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join("[REDACTED]");
  return out;
}

function toGitError(error: unknown, subcommand: string, timeoutMs: number, secrets: string[]): GitError {
  if (!(error instanceof ExecaError)) {
    const text = error instanceof Error ? error.message : String(error);
    return new GitError(`git ${subcommand} failed: ${redact(text, secrets)}`, { subcommand, cause: error });
  }
  const stderr = typeof error.stderr === "string" ? error.stderr : "";
  const stderrTail = redact(stderr.slice(-STDERR_TAIL_CHARS).trim(), secrets);
  // execa's own error repeats stderr and argv; only keep it as the cause when nothing secret was in play.
  const cause = secrets.length === 0 ? error : new Error(redact(error.shortMessage, secrets));
  let reason: string;
  if (error.timedOut) reason = `timed out after ${timeoutMs} ms`;
  else if (error.isCanceled) reason = "was cancelled";
  else if (error.exitCode !== undefined) reason = `failed with exit code ${error.exitCode}`;
  else reason = `failed: ${redact(error.originalMessage || error.shortMessage, secrets)}`;
  return new GitError(`git ${subcommand} ${reason}${stderrTail ? `: ${stderrTail}` : ""}`, {
    subcommand,
    exitCode: error.exitCode,
    stderrTail,
    timedOut: error.timedOut,
    isCanceled: error.isCanceled,
    cause,
  });
}
