import { isSafeRefName } from "./branch.ts";
import { assertCredentialFreeUrl, credentialEnv, TOKEN_SAFE_FLAGS } from "./credentials.ts";
import { assertMirrorUntouched } from "./mirror.ts";
import { GitError, runGit } from "./run-git.ts";

const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

export interface PushBranchOptions {
  mirror: string;
  /** Pushed to this URL, not to the remote name, so the remote's config cannot redirect it. */
  cloneUrl: string;
  branch: string;
  /** The commit to put on the branch; worktrees share the mirror's objects, so it is already there. */
  sha: string;
  token?: string;
  signal?: AbortSignal;
  /** Default 120 000 ms. */
  timeoutMs?: number;
  /**
   * The commit the branch must still be at on `cloneUrl` (where the attempt started from): the push then
   * only replaces that commit (`--force-with-lease`), and fails with BranchMovedError when someone pushed
   * meanwhile. Without it the branch is force-pushed, whatever it held.
   */
  expectedSha?: string;
}

/**
 * The task branch moved on the remote since the attempt started from it: someone pushed to it. Drover
 * does not overwrite their work; `remoteSha` is where the branch is now (null: it was deleted).
 */
export class BranchMovedError extends GitError {
  override name = "BranchMovedError";
  readonly remoteSha: string | null;

  constructor(opts: { branch: string; expectedSha: string; remoteSha: string | null; sha: string }) {
    const now = opts.remoteSha === null ? "it was deleted" : `it is at ${opts.remoteSha.slice(0, 12)} now`;
    super(
      `the branch \`${opts.branch}\` moved on GitHub while Drover worked on it (it started from ` +
        `${opts.expectedSha.slice(0, 12)}; ${now}): someone pushed to it, and Drover does not overwrite ` +
        `their work, so its commit ${opts.sha.slice(0, 12)} was not pushed; comment \`/drover retry\` to ` +
        "start again from the branch as it is now",
      { subcommand: "push" },
    );
    this.remoteSha = opts.remoteSha;
  }
}

/**
 * Pushes `sha` to `refs/heads/<branch>` on `cloneUrl`, from the mirror, with Drover's token: forced, or,
 * with `expectedSha`, only over that commit (a fast-forward of it, as `sha` descends from it).
 */
export async function pushBranch(opts: PushBranchOptions): Promise<void> {
  if (!isSafeRefName(opts.branch)) {
    throw new GitError(`invalid branch name '${opts.branch}'`, { subcommand: "push" });
  }
  if (!SHA.test(opts.sha)) {
    throw new GitError(`invalid commit sha '${opts.sha}'`, { subcommand: "push" });
  }
  const expected = opts.expectedSha;
  if (expected !== undefined && !SHA.test(expected)) {
    throw new GitError(`invalid expected sha '${expected}'`, { subcommand: "push" });
  }
  assertCredentialFreeUrl(opts.cloneUrl);
  await assertMirrorUntouched(opts.mirror);
  const force =
    expected === undefined ? "--force" : `--force-with-lease=refs/heads/${opts.branch}:${expected}`;
  try {
    await push(opts, force);
  } catch (error) {
    if (expected === undefined || (error instanceof GitError && (error.isCanceled || error.timedOut)))
      throw error;
    // Refused: find out whether it was because the branch moved, to say so instead of git's words.
    const remoteSha = await remoteBranchSha(opts);
    if (remoteSha === expected) throw error;
    throw new BranchMovedError({ branch: opts.branch, expectedSha: expected, remoteSha, sha: opts.sha });
  }
}

async function push(opts: PushBranchOptions, force: string): Promise<void> {
  await runGit(
    [
      ...TOKEN_SAFE_FLAGS,
      "push",
      "--quiet",
      force,
      "--no-verify",
      "--end-of-options",
      opts.cloneUrl,
      `${opts.sha}:refs/heads/${opts.branch}`,
    ],
    {
      cwd: opts.mirror,
      env: credentialEnv(opts.token),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
    },
  );
}

/**
 * The commit `refs/heads/<branch>` points at on `cloneUrl`, or null when there is no such branch: after a
 * crash, whether the dead worker's push reached the remote. Run from the mirror, with Drover's token.
 */
export async function remoteBranchSha(
  opts: Pick<PushBranchOptions, "mirror" | "cloneUrl" | "branch" | "token" | "signal">,
): Promise<string | null> {
  if (!isSafeRefName(opts.branch)) {
    throw new GitError(`invalid branch name '${opts.branch}'`, { subcommand: "ls-remote" });
  }
  assertCredentialFreeUrl(opts.cloneUrl);
  const out = await runGit(
    [...TOKEN_SAFE_FLAGS, "ls-remote", "--end-of-options", opts.cloneUrl, `refs/heads/${opts.branch}`],
    {
      cwd: opts.mirror,
      env: credentialEnv(opts.token),
      ...(opts.signal ? { signal: opts.signal } : {}),
    },
  );
  const sha = out.split(/\s+/)[0] ?? "";
  return SHA.test(sha) ? sha : null;
}
