import path from "node:path";
import { readStart } from "../../src/db/attempt-start.ts";
import type { Repository } from "../../src/db/repositories.ts";
import { fetchBranch } from "../../src/git/fetch-branch.ts";
import { ensureMirror } from "../../src/git/mirror.ts";
import { addWorktree, pinAgentConfig, unpinAgentConfig } from "../../src/git/worktree.ts";
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
  /**
   * The commit the worktree started from: the base branch's tip, or the task branch's head on GitHub for
   * an attempt that builds on it. What the agent changed (whether it changed anything, the diff stat) is
   * measured against it.
   */
  baseSha: string;
  /**
   * The base branch's tip: recorded as the attempt's `baseSha` whichever way it started, so
   * `baseSha...headSha` (the prompts' ranges for blockers) is the task branch's whole work; and where the
   * agent's configuration comes from.
   */
  baseBranchSha: string;
  /**
   * Started from the task branch: its head on GitHub, which a push must only move forward from (never a
   * force-push of work people have seen). Null when it started from the base branch (pushes are forced).
   */
  fromBranch: string | null;
  /** The agent configuration paths put back to the base branch's before the agent ran. */
  pinned: string[];
};

/**
 * Step 2: a worktree on the task branch, from a fresh mirror of the base branch, with the base branch's
 * agent configuration (a task's own changes never configure its agent). An attempt whose start says
 * `branch` builds on the task branch as it is on GitHub (fetched now); when GitHub has no such branch,
 * it starts from the base branch.
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
  const start = readStart(attempt.start);
  const onBranch = start?.from === "branch";
  const fromBranch = onBranch
    ? await fetchBranch({
        mirror,
        cloneUrl: repository.cloneUrl,
        branch: task.branch,
        token,
        ...(signal ? { signal } : {}),
      })
    : null;
  if (onBranch && fromBranch === null)
    run.log.info({ branch: task.branch }, "task branch not on GitHub; starting from the base branch");
  const { baseSha, startSha } = await addWorktree({
    mirror,
    path: worktree,
    branch: task.branch,
    base: config.base_branch ?? repository.defaultBranch,
    ...(fromBranch === null ? {} : { startSha: fromBranch }),
    ...(signal ? { signal } : {}),
  });
  failpoint("after-worktree", repository.fullName);
  // A merge of the base pins the agent's configuration after merging (see jobs/run-task/merge.ts): the
  // merge must start from a clean worktree.
  const pinned = start?.merge ? [] : await pinAgentConfig(worktree, baseSha, signal);
  return {
    home,
    token,
    mirror,
    path: worktree,
    runName,
    baseSha: startSha,
    baseBranchSha: baseSha,
    fromBranch,
    pinned,
  };
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

/**
 * Before the commit, for an attempt that started from the task branch: the branch's own agent
 * configuration back where the agent left the base branch's (see unpinAgentConfig), so building on the
 * branch never reverts what it carried.
 */
export async function unpinBranchConfig(work: Workspace, signal: AbortSignal | undefined): Promise<void> {
  if (work.fromBranch === null || work.pinned.length === 0) return;
  const pins = { baseSha: work.baseBranchSha, startSha: work.baseSha, pinned: work.pinned };
  await unpinAgentConfig(work.path, pins, signal);
}
