import { readFile } from "node:fs/promises";
import path from "node:path";
import { DROVER_BRANCH_PREFIX, isSafeRefName } from "./branch.ts";
import { fetchedRef } from "./fetch-branch.ts";
import { GitError, runGit } from "./run-git.ts";

const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/**
 * Nothing from the worktree's config may run a program while Drover merges or commits: hooks, an
 * fsmonitor, a signing program, rerere's recorded resolutions (Drover's merges are decided afresh).
 */
const SAFE_FLAGS = [
  "-c",
  "core.hooksPath=/dev/null",
  "-c",
  "core.fsmonitor=false",
  "-c",
  "commit.gpgSign=false",
  "-c",
  "rerere.enabled=false",
  "-c",
  "merge.conflictStyle=merge",
];

export type Identity = { name: string; email: string };

/**
 * What merging a base into a task branch came to. `up-to-date`: the branch holds the base's commit
 * already, nothing was done. `clean`: merged, not committed yet (see `commitMerge`). `conflicts`: the
 * merge stopped with `files` unmerged, their conflict markers in the worktree.
 */
export type MergeResult = { kind: "up-to-date" } | { kind: "clean" } | { kind: "conflicts"; files: string[] };

/**
 * Merges commit `theirs` into the worktree's branch (`git merge --no-ff --no-commit`), leaving the merge
 * in progress for `commitMerge`: two parents, whatever came of it.
 */
export async function mergeInto(opts: {
  worktree: string;
  theirs: string;
  author: Identity;
  signal?: AbortSignal;
}): Promise<MergeResult> {
  if (!SHA.test(opts.theirs)) throw new GitError(`invalid commit '${opts.theirs}'`, { subcommand: "merge" });
  const git = gitIn(opts.worktree, opts.signal);
  if (await isAncestor(opts.worktree, opts.theirs, "HEAD", opts.signal)) return { kind: "up-to-date" };
  try {
    await git(["merge", "--quiet", "--no-ff", "--no-commit", "--no-edit", "--end-of-options", opts.theirs], {
      env: identityEnv(opts.author),
    });
    return { kind: "clean" };
  } catch (error) {
    // Exit 1 with unmerged paths is a conflict; anything else (a cancel, a timeout, a refusal) is an error.
    const files = await unmergedPaths(opts.worktree, opts.signal).catch(() => []);
    if (!(error instanceof GitError) || error.exitCode !== 1 || files.length === 0) throw error;
    return { kind: "conflicts", files };
  }
}

/**
 * The tree `git merge` of `ours` and `theirs` would leave (conflicted files with their markers), without
 * touching any worktree: where a merge attempt's agent configuration goes back to after its agent ran.
 */
export async function mergedTree(
  worktree: string,
  ours: string,
  theirs: string,
  signal?: AbortSignal,
): Promise<string> {
  for (const sha of [ours, theirs])
    if (!SHA.test(sha)) throw new GitError(`invalid commit '${sha}'`, { subcommand: "merge-tree" });
  const git = gitIn(worktree, signal);
  // Exit 1 means conflicts, and the tree is printed all the same (its first line).
  const out = await git(["merge-tree", "--write-tree", "--no-messages", "--name-only", ours, theirs]).catch(
    (error: unknown) => {
      if (error instanceof GitError && error.exitCode === 1 && error.cause instanceof Error) {
        const stdout = (error.cause as { stdout?: unknown }).stdout;
        if (typeof stdout === "string") return stdout;
      }
      throw error;
    },
  );
  const tree = out.split("\n")[0]?.trim() ?? "";
  if (!SHA.test(tree)) throw new GitError("git merge-tree printed no tree", { subcommand: "merge-tree" });
  return tree;
}

/**
 * Stages everything in the worktree (new, changed, deleted files): a conflicted path the agent edited
 * counts as resolved by its content, as `git add` marks it.
 */
export async function stageAll(worktree: string, signal?: AbortSignal): Promise<void> {
  await gitIn(worktree, signal)(["add", "--all"]);
}

/** Paths the index still holds unmerged (`git diff --diff-filter=U`), sorted. */
export async function unmergedPaths(worktree: string, signal?: AbortSignal): Promise<string[]> {
  const out = await gitIn(worktree, signal)(["diff", "--name-only", "--diff-filter=U", "-z"]);
  return [...new Set(out.split("\0").filter(Boolean))].sort();
}

/** Whether `ancestor` is `descendant` or one of its ancestors. */
export async function isAncestor(
  worktree: string,
  ancestor: string,
  descendant: string,
  signal?: AbortSignal,
): Promise<boolean> {
  try {
    await gitIn(worktree, signal)(["merge-base", "--is-ancestor", ancestor, descendant]);
    return true;
  } catch (error) {
    if (error instanceof GitError && error.exitCode === 1) return false;
    throw error;
  }
}

/** The commit the worktree's HEAD is at. */
export async function headCommit(worktree: string, signal?: AbortSignal): Promise<string> {
  return gitIn(worktree, signal)(["rev-parse", "--verify", "HEAD^{commit}"]);
}

/** Whether a merge is in progress in the worktree (MERGE_HEAD is there: nobody committed or aborted it). */
export async function mergeInProgress(worktree: string, signal?: AbortSignal): Promise<boolean> {
  try {
    await gitIn(worktree, signal)(["rev-parse", "--verify", "--quiet", "MERGE_HEAD"]);
    return true;
  } catch (error) {
    if (error instanceof GitError && error.exitCode === 1) return false;
    throw error;
  }
}

/**
 * Of `files` (the merge's conflicted paths), those whose text in the worktree still holds a conflict
 * marker line: `<<<<<<<` or `>>>>>>>`, or a `=======` line more often than either side had one (a
 * Markdown heading may be underlined so). A file deleted in the resolution holds none.
 */
export async function filesWithMarkers(
  worktree: string,
  files: readonly string[],
  sides: { ours: string; theirs: string },
  signal?: AbortSignal,
): Promise<string[]> {
  const marked: string[] = [];
  for (const file of files) {
    const text = await readFile(path.join(worktree, file), "utf8").catch(() => null);
    if (text === null) continue;
    const lines = text.split(/\r?\n/);
    if (lines.some((l) => /^(?:<{7}|>{7})(?: |$)/.test(l))) {
      marked.push(file);
      continue;
    }
    const separators = countSeparators(lines);
    if (separators === 0) continue;
    const before = await Promise.all(
      [sides.ours, sides.theirs].map((sha) =>
        gitIn(
          worktree,
          signal,
        )(["show", `${sha}:${file}`]).then(
          (side) => countSeparators(side.split(/\r?\n/)),
          () => 0,
        ),
      ),
    );
    if (separators > Math.max(...before)) marked.push(file);
  }
  return marked;
}

function countSeparators(lines: readonly string[]): number {
  return lines.filter((l) => l === "=======").length;
}

/**
 * Commits the merge in progress, everything in the worktree staged, as `author` (author and committer):
 * a commit with both parents, even when its tree is the branch's own. Returns its sha.
 */
export async function commitMerge(opts: {
  worktree: string;
  message: string;
  author: Identity;
  signal?: AbortSignal;
}): Promise<string> {
  const git = gitIn(opts.worktree, opts.signal);
  await git(["add", "--all"]);
  await git(["commit", "--quiet", "--no-verify", "--no-gpg-sign", "--allow-empty", "--file=-"], {
    input: `${opts.message.trim()}\n`,
    env: identityEnv(opts.author),
  });
  return git(["rev-parse", "--verify", "HEAD^{commit}"]);
}

/**
 * The tip of `branch` in the mirror (which its fetch keeps at GitHub's), for the base to merge in; a
 * branch the mirror does not hold fails naming it.
 */
export async function branchTip(mirror: string, branch: string, signal?: AbortSignal): Promise<string> {
  if (!isSafeRefName(branch)) throw new GitError(`invalid branch name '${branch}'`, { subcommand: "merge" });
  // A task branch (a stacked pull request's base) is not the mirror's own: the worktree fetched it as
  // GitHub has it (see openWorktree), and the mirror's ref of that name belongs to a task's worktree.
  const ref = branch.startsWith(DROVER_BRANCH_PREFIX) ? fetchedRef(branch) : `refs/heads/${branch}`;
  try {
    return await runGit(["rev-parse", "--verify", "--quiet", "--end-of-options", `${ref}^{commit}`], {
      cwd: mirror,
      ...(signal ? { signal } : {}),
    });
  } catch (error) {
    throw new GitError(`branch '${branch}' is not in the mirror`, { subcommand: "rev-parse", cause: error });
  }
}

/** The subjects of the commits `to` has and `from` has not, newest first, at most `limit`. */
export async function commitSubjects(
  worktree: string,
  range: { from: string; to: string },
  limit: number,
  signal?: AbortSignal,
): Promise<string[]> {
  const out = await gitIn(
    worktree,
    signal,
  )(["log", "--format=%s", `--max-count=${limit}`, "--end-of-options", `${range.from}..${range.to}`]);
  return out.split("\n").filter(Boolean);
}

function gitIn(worktree: string, signal: AbortSignal | undefined) {
  return (args: readonly string[], extra: { input?: string; env?: Record<string, string> } = {}) =>
    runGit([...SAFE_FLAGS, ...args], { cwd: worktree, ...(signal ? { signal } : {}), ...extra });
}

function identityEnv({ name, email }: Identity): Record<string, string> {
  return {
    GIT_AUTHOR_NAME: name,
    GIT_AUTHOR_EMAIL: email,
    GIT_COMMITTER_NAME: name,
    GIT_COMMITTER_EMAIL: email,
  };
}

/** The pull request a commit's subject names: GitHub's merge commit, or a squash merge's `(#12)` suffix. */
export function pullRequestOf(subject: string): number | undefined {
  const found = /^Merge pull request #(\d+)\b/.exec(subject) ?? /\(#(\d+)\)\s*$/.exec(subject);
  return found?.[1] === undefined ? undefined : Number(found[1]);
}
