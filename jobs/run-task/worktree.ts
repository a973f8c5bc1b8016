import path from "node:path";
import { readStart, type Onto } from "../../src/db/attempt-start.ts";
import type { Repository } from "../../src/db/repositories.ts";
import { DROVER_BRANCH_PREFIX } from "../../src/git/branch.ts";
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
   * The commit the worktree started from: the base branch's tip, the task branch's head on GitHub for an
   * attempt that builds on it, or a stacked attempt's blocker branch head. What the agent changed (whether it changed anything, the diff stat) is
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
  /** Stacked (drover.yml `stack: true`): the blocker whose branch it started from instead of the base. */
  stackedOn: Onto | null;
  /** The agent configuration paths put back to the base branch's before the agent ran. */
  pinned: string[];
};

/**
 * Step 2: a worktree on the task branch, from a fresh mirror of the base branch, with the base branch's
 * agent configuration (a task's own changes never configure its agent). An attempt whose start says
 * `branch` builds on the task branch as it is on GitHub (fetched now); when GitHub has no such branch,
 * it starts from the base branch, or from the blocker's branch it is stacked on (`onto`).
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
  const fetch = (branch: string) =>
    fetchBranch({ mirror, cloneUrl: repository.cloneUrl, branch, token, ...(signal ? { signal } : {}) });
  const onBranch = start?.from === "branch";
  const fromBranch = onBranch ? await fetch(task.branch) : null;
  if (onBranch && fromBranch === null)
    run.log.info({ branch: task.branch }, "task branch not on GitHub; starting from the base branch");
  const stackedOn = fromBranch === null ? await stackStart(run, start?.onto, fetch) : null;
  // A stacked pull request's base is its blocker's branch, which the mirror does not fetch (see
  // ensureMirror): fetched now, where branchTip reads it for the merge.
  if (start?.merge?.branch.startsWith(DROVER_BRANCH_PREFIX)) await fetch(start.merge.branch);
  const from = fromBranch ?? stackedOn?.sha ?? null;
  const { baseSha, startSha } = await addWorktree({
    mirror,
    path: worktree,
    branch: task.branch,
    base: config.base_branch ?? repository.defaultBranch,
    ...(from === null ? {} : { startSha: from }),
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
    stackedOn: stackedOn?.onto ?? null,
    pinned,
  };
}

/**
 * A stacked attempt that would start from the base branch starts from its blocker's branch as GitHub has
 * it now. Gone from GitHub, the blocker's pull request merged (its branch deleted), so the base branch
 * holds its work and is where the attempt starts.
 */
async function stackStart(
  run: Run,
  onto: Onto | undefined,
  fetch: (branch: string) => Promise<string | null>,
): Promise<{ onto: Onto; sha: string } | null> {
  if (!onto) return null;
  const sha = await fetch(onto.branch);
  if (sha === null) {
    run.log.info({ onto }, "stacked-on branch not on GitHub; starting from the base branch");
    return null;
  }
  run.log.info({ onto, sha }, "stacked: starting from the blocker's branch");
  return { onto, sha };
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
