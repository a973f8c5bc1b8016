import { isSafeRefName } from "./branch.ts";
import { assertCredentialFreeUrl, credentialEnv, QUIET_FETCH } from "./credentials.ts";
import { assertMirrorUntouched } from "./mirror.ts";
import { remoteBranchSha } from "./push.ts";
import { GitError, runGit } from "./run-git.ts";

/** Where a branch fetched by `fetchBranch` is kept in the mirror, out of the way of its `refs/heads/`. */
export function fetchedRef(branch: string): string {
  return `refs/drover/remote/${branch}`;
}

export interface FetchBranchOptions {
  mirror: string;
  /** Fetched from this URL, not from the remote name, so the remote's config cannot redirect it. */
  cloneUrl: string;
  branch: string;
  token?: string;
  signal?: AbortSignal;
  /** Default 120 000 ms. */
  timeoutMs?: number;
}

/**
 * The head of `refs/heads/<branch>` on `cloneUrl`, fetched into the mirror (as `fetchedRef(branch)`, which
 * the mirror's own fetch neither tracks nor prunes), with Drover's token; null when the remote has no
 * such branch. The mirror deliberately does not fetch `drover/*` branches onto its own (see
 * ensureMirror): the task branch's local ref belongs to the worktree.
 */
export async function fetchBranch(opts: FetchBranchOptions): Promise<string | null> {
  if (!isSafeRefName(opts.branch)) {
    throw new GitError(`invalid branch name '${opts.branch}'`, { subcommand: "fetch" });
  }
  assertCredentialFreeUrl(opts.cloneUrl);
  await assertMirrorUntouched(opts.mirror);
  const signal = opts.signal ? { signal: opts.signal } : {};
  // Asked first, so a missing branch is an answer rather than a failed fetch to read git's words from.
  if ((await remoteBranchSha(opts)) === null) return null;
  const ref = fetchedRef(opts.branch);
  await runGit([...QUIET_FETCH, "--end-of-options", opts.cloneUrl, `+refs/heads/${opts.branch}:${ref}`], {
    cwd: opts.mirror,
    env: credentialEnv(opts.token),
    ...signal,
    ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
  });
  // The ref, not ls-remote's answer: someone may have pushed in between, and this is what was fetched.
  return runGit(["rev-parse", "--verify", "--end-of-options", `${ref}^{commit}`], {
    cwd: opts.mirror,
    ...signal,
  });
}
