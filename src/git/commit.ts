import { GitError, runGit } from "./run-git.ts";

/** Upper bound of `diffStat`, in characters. */
export const MAX_DIFF_STAT_CHARS = 4_096;

/** Nothing from the worktree's (agent-writable) config may run a program while Drover commits. */
const SAFE_FLAGS = [
  "-c",
  "core.hooksPath=/dev/null",
  "-c",
  "core.fsmonitor=false",
  "-c",
  "commit.gpgSign=false",
];
const TRAILER = /^[A-Za-z0-9][A-Za-z0-9-]*: [^\r\n]+$/;

export interface CommitAllOptions {
  worktree: string;
  message: string;
  /** Used as both author and committer. */
  author: { name: string; email: string };
  /** `Key: value` lines, e.g. `Co-authored-by: Ann <1+ann@users.noreply.github.com>`, `Drover-Task: o/r#12`. */
  trailers: readonly string[];
  /** The commit the worktree started from; commits the agent made itself since then count as changes. */
  baseSha?: string;
  signal?: AbortSignal;
}

export type CommitResult = { sha: string; changed: true; diffStat: string } | { changed: false };

/**
 * Commits everything in the worktree (new, changed and deleted files) as the given identity.
 * Reports `changed: false` when there is nothing to commit and HEAD is still at `baseSha`.
 */
export async function commitAll(opts: CommitAllOptions): Promise<CommitResult> {
  assertIdentity(opts.author);
  for (const trailer of opts.trailers) {
    if (!TRAILER.test(trailer)) {
      throw new GitError(`invalid commit trailer '${trailer}'`, { subcommand: "commit" });
    }
  }
  const git = (args: readonly string[], extra: { input?: string; env?: Record<string, string> } = {}) =>
    runGit([...SAFE_FLAGS, ...args], {
      cwd: opts.worktree,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...extra,
    });

  const head = await git(["rev-parse", "--verify", "HEAD^{commit}"]);
  await git(["add", "--all"]);
  const staged = await git(["diff", "--cached", "--name-only", "--no-renames", "HEAD"]);
  let sha = head;
  if (staged !== "") {
    const { name, email } = opts.author;
    await git(["commit", "--quiet", "--no-verify", "--no-gpg-sign", "--cleanup=whitespace", "--file=-"], {
      input: commitMessage(opts.message, opts.trailers),
      env: {
        GIT_AUTHOR_NAME: name,
        GIT_AUTHOR_EMAIL: email,
        GIT_COMMITTER_NAME: name,
        GIT_COMMITTER_EMAIL: email,
      },
    });
    sha = await git(["rev-parse", "--verify", "HEAD^{commit}"]);
  }

  const base = opts.baseSha ?? head;
  if (sha === base) return { changed: false };
  const diffStat = await git(["diff", "--stat", "--no-color", "--end-of-options", `${base}..${sha}`]);
  return { sha, changed: true, diffStat: boundDiffStat(diffStat) };
}

/** The message, a blank line, then the trailers: their own last paragraph, which `%(trailers)` reads. */
export function commitMessage(message: string, trailers: readonly string[]): string {
  const body = message.trim() === "" ? "Drover task" : message.trim();
  return trailers.length === 0 ? `${body}\n` : `${body}\n\n${trailers.join("\n")}\n`;
}

/** Keeps the first lines and the summary line (`N files changed, ...`) within MAX_DIFF_STAT_CHARS. */
export function boundDiffStat(stat: string): string {
  if (stat.length <= MAX_DIFF_STAT_CHARS) return stat;
  const summary = stat.slice(stat.lastIndexOf("\n") + 1);
  const marker = "\n ...\n";
  const room = MAX_DIFF_STAT_CHARS - marker.length - summary.length;
  const cut = stat.lastIndexOf("\n", room);
  return `${stat.slice(0, Math.max(0, cut))}${marker}${summary}`.slice(0, MAX_DIFF_STAT_CHARS);
}

function assertIdentity(author: { name: string; email: string }): void {
  const bad = /[<>\r\n\0]/;
  if (
    author.name.trim() === "" ||
    author.email.trim() === "" ||
    bad.test(author.name) ||
    bad.test(author.email)
  ) {
    throw new GitError("commit author needs a name and email without '<', '>' or line breaks", {
      subcommand: "commit",
    });
  }
}
