import path from "node:path";
import { execa } from "execa";
import { isSafeRefName } from "../../git/branch.ts";
import {
  DEFAULT_GIT_TIMEOUT_MS,
  GIT_KILL_GRACE_MS,
  GitError,
  gitBaseEnv,
  runGit,
  STDERR_TAIL_CHARS,
  type GitErrorDetails,
} from "../../git/run-git.ts";

// How the sandbox's bare repositories are called: git pinned to one repository with hooks and signing
// off, and the checks every name, path and identity passes before it reaches git's command line.

/** Hooks and signing never run here: these repositories belong to the sandbox, not to a user. */
const SAFE_FLAGS = ["-c", "core.hooksPath=/dev/null", "-c", "commit.gpgSign=false"];
export const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

export interface Identity {
  name: string;
  email: string;
}

export interface BareCallOptions {
  signal?: AbortSignal;
}

/** Only the signal: option objects of the exported functions carry more than git calls take. */
export function callOptions(opts: BareCallOptions): BareCallOptions {
  return opts.signal ? { signal: opts.signal } : {};
}

export interface GitCallOptions extends BareCallOptions {
  env?: Record<string, string>;
  input?: string;
}

/** runGit pinned to `bare` by GIT_DIR, so a path that is not a repository can never reach a parent's. */
export function git(bare: string, args: readonly string[], opts: GitCallOptions): Promise<string> {
  return runGit([...SAFE_FLAGS, ...args], {
    cwd: bare,
    env: { GIT_DIR: path.resolve(bare), ...opts.env },
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.input === undefined ? {} : { input: opts.input }),
  });
}

interface RawResult {
  exitCode: number;
  stdout: Buffer;
  stderr: string;
}

/**
 * For the calls runGit cannot make: output that is binary (`cat-file`) and exit codes that are
 * answers (`merge-tree`, `merge-base --is-ancestor`). Same controlled environment as runGit; none of
 * these starts helpers, so no process group is needed.
 */
export async function gitRaw(
  bare: string,
  args: readonly string[],
  opts: GitCallOptions & { accept?: readonly number[] },
): Promise<RawResult> {
  const subcommand = args[0] ?? "git";
  const env = { ...gitBaseEnv(), GIT_DIR: path.resolve(bare) };
  let result;
  try {
    result = await execa("git", [...SAFE_FLAGS, ...args], {
      cwd: bare,
      env,
      extendEnv: false,
      encoding: "buffer",
      reject: false,
      timeout: DEFAULT_GIT_TIMEOUT_MS,
      forceKillAfterDelay: GIT_KILL_GRACE_MS,
      ...(opts.signal ? { cancelSignal: opts.signal } : {}),
      ...(opts.input === undefined ? { stdin: "ignore" as const } : { input: opts.input }),
    });
  } catch (error) {
    throw new GitError(`git ${subcommand} failed: ${String(error)}`, { subcommand, cause: error });
  }
  const stderr = Buffer.from(result.stderr).toString("utf8");
  const details = { exitCode: result.exitCode, timedOut: result.timedOut, isCanceled: result.isCanceled };
  if (result.timedOut) {
    throw gitFailure(subcommand, `timed out after ${DEFAULT_GIT_TIMEOUT_MS} ms`, stderr, details);
  }
  if (result.isCanceled) throw gitFailure(subcommand, "was cancelled", stderr, details);
  if (result.exitCode === undefined) {
    throw gitFailure(subcommand, `failed: ${result.originalMessage || result.shortMessage}`, stderr, details);
  }
  if (!(opts.accept ?? [0]).includes(result.exitCode)) {
    throw gitFailure(subcommand, `failed with exit code ${result.exitCode}`, stderr, details);
  }
  const { buffer, byteOffset, byteLength } = result.stdout;
  return { exitCode: result.exitCode, stdout: Buffer.from(buffer, byteOffset, byteLength), stderr };
}

export function gitFailure(
  subcommand: string,
  reason: string,
  stderr: string,
  details: Partial<Pick<GitErrorDetails, "exitCode" | "timedOut" | "isCanceled">> = {},
): GitError {
  const stderrTail = stderr.slice(-STDERR_TAIL_CHARS).trim();
  return new GitError(`git ${subcommand} ${reason}${stderrTail ? `: ${stderrTail}` : ""}`, {
    subcommand,
    stderrTail,
    ...details,
  });
}

/** A full sha or a ref name (`main`, `refs/heads/main`), never an option or revision syntax. */
export function assertRevision(rev: string, subcommand: string): void {
  if (!SHA.test(rev) && !isSafeRefName(rev)) throw new GitError(`invalid revision '${rev}'`, { subcommand });
}

export function assertBranch(branch: string, subcommand: string): void {
  if (!isSafeRefName(branch)) throw new GitError(`invalid branch name '${branch}'`, { subcommand });
}

/** A path inside the repository: relative, `/`-separated, no `.`, `..` or `.git` segment, no line breaks. */
export function assertRepoPath(file: string, subcommand: string): void {
  const segments = file.split("/");
  const bad =
    file === "" ||
    file.startsWith("-") ||
    // eslint-disable-next-line no-control-regex
    /[\x00-\x1f\x7f]/.test(file) ||
    segments.some((s) => s === "" || s === "." || s === ".." || s.toLowerCase() === ".git");
  if (bad) throw new GitError(`invalid file path '${file}'`, { subcommand });
}

export function assertIdentity(who: Identity, subcommand: string): void {
  const bad = /[<>\r\n\0]/;
  if (who.name.trim() === "" || who.email.trim() === "" || bad.test(who.name) || bad.test(who.email)) {
    throw new GitError("identity needs a name and email without '<', '>' or line breaks", { subcommand });
  }
}

export function identityEnv(who: Identity): Record<string, string> {
  return {
    GIT_AUTHOR_NAME: who.name,
    GIT_AUTHOR_EMAIL: who.email,
    GIT_COMMITTER_NAME: who.name,
    GIT_COMMITTER_EMAIL: who.email,
  };
}

export function messageText(message: string): string {
  return message.endsWith("\n") ? message : `${message}\n`;
}
