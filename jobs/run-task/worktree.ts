import path from "node:path";
import type { Repository } from "../../src/db/repositories.ts";
import { ensureMirror } from "../../src/git/mirror.ts";
import { addWorktree, pinAgentConfig } from "../../src/git/worktree.ts";
import { failpoint } from "../../src/lib/failpoint.ts";
import type { JobDeps } from "../deps.ts";
import type { Run } from "./run.ts";

/** Where an attempt works: its worktree in DROVER_HOME, from the repository's mirror. */
export type Workspace = {
  home: string;
  /** The installation token: for git, never for the agent. */
  token: string;
  mirror: string;
  /** The worktree. */
  path: string;
  /** Per lease epoch: an agent orphaned by a crashed worker never shares a directory with its successor. */
  runName: string;
  baseSha: string;
};

/**
 * Step 2: a worktree on the task branch, from a fresh mirror of the base branch, with the base branch's
 * agent configuration (a task's own changes never configure its agent).
 */
export async function openWorktree(
  deps: JobDeps,
  run: Run,
  signal: AbortSignal | undefined,
): Promise<Workspace> {
  const { task, attempt, lease, repository, config } = run;
  const token = await deps.github.token(repository.installationId);
  const home = path.resolve(deps.env.DROVER_HOME);
  const mirror = await freshMirror(home, repository, token, signal);
  const runName = `${repository.id}-${task.issueNumber}-${attempt.number}-${lease.epoch}`;
  const worktree = path.join(home, "worktrees", runName);
  const { baseSha } = await addWorktree({
    mirror,
    path: worktree,
    branch: task.branch,
    base: config.base_branch ?? repository.defaultBranch,
    ...(signal ? { signal } : {}),
  });
  failpoint("after-worktree", repository.fullName);
  const workspace = { home, token, mirror, path: worktree, runName, baseSha };
  await pinAgentConfig(worktree, baseSha, signal);
  return workspace;
}

export async function freshMirror(
  home: string,
  repository: Repository,
  token: string,
  signal: AbortSignal | undefined,
): Promise<string> {
  return ensureMirror({
    home,
    repoFullName: repository.fullName,
    cloneUrl: repository.cloneUrl,
    token,
    ...(signal ? { signal } : {}),
  });
}
