import { rm } from "node:fs/promises";
import path from "node:path";
import { DROVER_BRANCH_PREFIX, isSafeRefName } from "./branch.ts";
import { exists } from "./fs-util.ts";
import { GitError, runGit } from "./run-git.ts";

export interface AddWorktreeOptions {
  mirror: string;
  /** Absolute path, under `<home>/worktrees/`, chosen by the caller. */
  path: string;
  /** The task's branch, under `drover/`; created or reset to `base`. */
  branch: string;
  /** Branch name in the mirror to start from, e.g. `main`. */
  base: string;
  /**
   * A commit in the mirror to start from instead of `base`'s tip: the task branch's head as fetched from
   * GitHub (see fetchBranch), to build on it.
   */
  startSha?: string;
  signal?: AbortSignal;
}

/**
 * Checks out `branch`, reset to `startSha` or else to `base`, in a new worktree of the mirror. A
 * directory left at `path` by an earlier crashed attempt is removed first. Returns `base`'s tip and the
 * commit the worktree started from (the same, without `startSha`).
 */
export async function addWorktree(opts: AddWorktreeOptions): Promise<{ baseSha: string; startSha: string }> {
  const { mirror, branch, base } = opts;
  const signal = opts.signal ? { signal: opts.signal } : {};
  assertTaskBranch(branch);
  if (!path.isAbsolute(opts.path)) {
    throw new GitError(`worktree path must be absolute: ${opts.path}`, { subcommand: "worktree" });
  }
  const { baseSha, startSha } = await resolveStart(mirror, base, opts.startSha, opts.signal);

  if (await exists(opts.path)) await removeWorktree(mirror, opts.path);
  // Forget worktrees whose directories are gone, so the path and the branch are free again.
  await runGit(["worktree", "prune"], { cwd: mirror, ...signal });
  // A crashed worker's worktree (an earlier lease epoch, another path) may still hold the branch.
  const listing = await runGit(["worktree", "list", "--porcelain"], { cwd: mirror, ...signal });
  for (const entry of listing.split("\n\n")) {
    const at = /^worktree (.+)$/m.exec(entry)?.[1];
    const holds = entry.split("\n").includes(`branch refs/heads/${branch}`);
    if (at && holds) await removeWorktree(mirror, at);
  }
  // A sha, not the branch name: a fetch may move the branch between the two calls.
  await runGit(
    [
      "worktree",
      "add",
      "--quiet",
      "--force",
      "--no-track",
      "-B",
      branch,
      "--end-of-options",
      opts.path,
      startSha,
    ],
    { cwd: mirror, ...signal },
  );
  return { baseSha, startSha };
}

/** Refuses a task branch outside `drover/` (other branches are the mirror's, see ensureMirror). */
export function assertTaskBranch(branch: string): void {
  if (!isSafeRefName(branch) || !branch.startsWith(DROVER_BRANCH_PREFIX)) {
    throw new GitError(
      `invalid task branch '${branch}': must be a valid name under ${DROVER_BRANCH_PREFIX}`,
      { subcommand: "worktree" },
    );
  }
}

/**
 * The base branch's tip in the mirror, and the commit a worktree starts from: `startSha` when given
 * (checked to be a commit the mirror holds), else that tip. Errors name the repository, never a path.
 */
export async function resolveStart(
  mirror: string,
  base: string,
  startSha: string | undefined,
  signal?: AbortSignal,
): Promise<{ baseSha: string; startSha: string }> {
  const opts = { cwd: mirror, ...(signal ? { signal } : {}) };
  if (!isSafeRefName(base)) {
    throw new GitError(`invalid base branch name '${base}'`, { subcommand: "worktree" });
  }
  let baseSha: string;
  try {
    baseSha = await runGit(
      ["rev-parse", "--verify", "--quiet", "--end-of-options", `refs/heads/${base}^{commit}`],
      opts,
    );
  } catch (error) {
    throw new GitError(`base branch '${base}' not found in ${repoNameOf(mirror)}`, {
      subcommand: "rev-parse",
      cause: error,
    });
  }
  if (startSha === undefined) return { baseSha, startSha: baseSha };
  if (!/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(startSha)) {
    throw new GitError(`invalid start commit '${startSha}'`, { subcommand: "worktree" });
  }
  const start = await runGit(
    ["rev-parse", "--verify", "--quiet", "--end-of-options", `${startSha}^{commit}`],
    opts,
  ).catch((error: unknown) => {
    throw new GitError(`start commit ${startSha} not found in ${repoNameOf(mirror)}`, {
      subcommand: "rev-parse",
      cause: error,
    });
  });
  return { baseSha, startSha: start };
}

/** Removes a worktree and its registration; does nothing when it is already gone. */
export async function removeWorktree(mirror: string, worktreePath: string): Promise<void> {
  try {
    // Twice --force: also removes a locked worktree or one with uncommitted changes.
    await runGit(["worktree", "remove", "--force", "--force", "--end-of-options", worktreePath], {
      cwd: mirror,
    });
  } catch {
    // Not (or no longer) a registered worktree, or half-created: fall back to deleting the directory.
    await rm(worktreePath, { recursive: true, force: true });
  }
  if (await exists(mirror)) await runGit(["worktree", "prune"], { cwd: mirror });
}

/** `owner/name` from `<home>/mirrors/<owner>/<name>.git`. */
function repoNameOf(mirror: string): string {
  const name = path.basename(mirror).replace(/\.git$/, "");
  return `${path.basename(path.dirname(mirror))}/${name}`;
}

/**
 * Where coding agents read configuration that can run programs (hooks, MCP servers) or change their
 * permissions. A task's own changes must never supply it: an agent (or a person pushing to the task
 * branch) could otherwise grant the next run whatever it liked.
 */
export const AGENT_CONFIG_PATHS: readonly string[] = [
  ".claude",
  ".mcp.json",
  ".codex",
  ".opencode",
  "opencode.json",
  "opencode.jsonc",
  ".amp",
  ".gemini",
];

/**
 * Puts the agent configuration paths back to what `baseSha` has (removing those it lacks), so an agent
 * always runs with the base branch's configuration, whatever the worktree started from. Returns the
 * paths it put back.
 */
export async function pinAgentConfig(
  worktree: string,
  baseSha: string,
  signal?: AbortSignal,
): Promise<string[]> {
  const opts = { cwd: worktree, ...(signal ? { signal } : {}) };
  const replaced: string[] = [];
  for (const entry of AGENT_CONFIG_PATHS) {
    if (!(await differsFrom(worktree, baseSha, entry, signal))) continue;
    await rm(path.join(worktree, entry), { recursive: true, force: true });
    if (await hasPath(baseSha, entry, opts)) await runGit(["checkout", baseSha, "--", entry], opts);
    replaced.push(entry);
  }
  return replaced;
}

/**
 * Undoes `pinAgentConfig` before a commit, for a worktree that started from `startSha` (the task
 * branch): each of the `pinned` paths the agent left as the base branch has it goes back to what
 * `startSha` had, so the commit does not quietly revert configuration the branch carried. Paths the
 * agent changed itself stay as it left them, like the rest of its work.
 */
export async function unpinAgentConfig(
  worktree: string,
  pins: { baseSha: string; startSha: string; pinned: readonly string[] },
  signal?: AbortSignal,
): Promise<void> {
  const opts = { cwd: worktree, ...(signal ? { signal } : {}) };
  for (const entry of pins.pinned) {
    if (await differsFrom(worktree, pins.baseSha, entry, signal)) continue;
    await rm(path.join(worktree, entry), { recursive: true, force: true });
    if (await hasPath(pins.startSha, entry, opts))
      await runGit(["checkout", pins.startSha, "--", entry], opts);
    else await runGit(["rm", "-r", "--cached", "--quiet", "--ignore-unmatch", "--", entry], opts);
  }
}

async function hasPath(sha: string, entry: string, opts: { cwd: string; signal?: AbortSignal }) {
  return runGit(["cat-file", "-e", `${sha}:${entry}`], opts).then(
    () => true,
    () => false,
  );
}

/** Whether the worktree's `entry` differs from `sha`'s: tracked changes, untracked (ignored too) files. */
async function differsFrom(
  worktree: string,
  sha: string,
  entry: string,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  const opts = { cwd: worktree, ...(signal ? { signal } : {}) };
  const inSha = await hasPath(sha, entry, opts);
  if (!inSha) return exists(path.join(worktree, entry));
  return (
    (await runGit(["diff", "--name-only", sha, "--", entry], opts)) !== "" ||
    (await runGit(["ls-files", "--others", "--", entry], opts)) !== ""
  );
}
