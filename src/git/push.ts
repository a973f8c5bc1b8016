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
}

/** Force-pushes `sha` to `refs/heads/<branch>` on `cloneUrl`, from the mirror, with Drover's token. */
export async function pushBranch(opts: PushBranchOptions): Promise<void> {
  if (!isSafeRefName(opts.branch)) {
    throw new GitError(`invalid branch name '${opts.branch}'`, { subcommand: "push" });
  }
  if (!SHA.test(opts.sha)) {
    throw new GitError(`invalid commit sha '${opts.sha}'`, { subcommand: "push" });
  }
  assertCredentialFreeUrl(opts.cloneUrl);
  await assertMirrorUntouched(opts.mirror);
  await runGit(
    [
      ...TOKEN_SAFE_FLAGS,
      "push",
      "--quiet",
      "--force",
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
