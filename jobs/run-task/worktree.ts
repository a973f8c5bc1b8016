import os from "node:os";
import path from "node:path";
import { chownTree } from "../../src/agent/os-user.ts";
import {
  prepareRepoCaches,
  runSetup,
  setupFailureReason,
  setupLogTail,
  SetupSurroundingsError,
  type SetupResult,
  type SetupSurroundings,
} from "../../src/agent/setup.ts";
import type { DroverConfig } from "../../src/config/schema.ts";
import { readStart, type Onto } from "../../src/db/attempt-start.ts";
import type { Repository } from "../../src/db/repositories.ts";
import { DROVER_BRANCH_PREFIX } from "../../src/git/branch.ts";
import { fetchBranch } from "../../src/git/fetch-branch.ts";
import { deepenToMergeBase, ensureMirror, mirrorNeedsFetch } from "../../src/git/mirror.ts";
import { claimWorktree, releaseWorktree, type PooledWorktree, type PoolSetup } from "../../src/git/pool.ts";
import { dropClaim } from "../../src/git/pool-slots.ts";
import { pinAgentConfig, unpinAgentConfig } from "../../src/git/worktree.ts";
import { failpoint } from "../../src/lib/failpoint.ts";
import { PermanentJobError } from "../../src/queue/queue.ts";
import type { JobDeps } from "../deps.ts";
import { refillAfterClaim } from "../warm-pool/triggers.ts";
import { failed, type Outcome, type Run } from "./run.ts";
import { agentUser } from "./agent.ts";

/** Where an attempt works: its worktree in DROVER_HOME, from the repository's mirror. */
export type Workspace = {
  home: string;
  /** The installation token: for git, never for the agent. */
  token: string;
  mirror: string;
  /** The worktree: a pooled slot the attempt holds until `releaseWorkspace`. */
  path: string;
  /** The pool's slot, handed back after the attempt (releaseWorkspace). */
  slot: PooledWorktree;
  /** The base branch the pool's slots sit at. */
  base: string;
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
  /** How long getting the worktree took (mirror, fetches, checkout), and the repository's setup (undefined: not run). */
  worktreeMs: number;
  setupMs: number | undefined;
};

/**
 * The repository's setup failed in the attempt's worktree: the attempt fails with this (the slot is
 * released). `setupMs` is how long it ran, for the attempt's timings (jobs/run-task/timings.ts).
 */
export type SetupFailed = { setupFailed: Outcome; setupMs: number };

/**
 * Step 2: a worktree on the task branch, from a pooled worktree of the repository's mirror (fetched only
 * when it is older than the task needs), with the repository's setup run when its lockfiles call for it,
 * and with the base branch's agent configuration (a task's own changes never configure its agent). An
 * attempt whose start says `branch` builds on the task branch as it is on GitHub (fetched now); when
 * GitHub has no such branch, it starts from the base branch, or from the blocker's branch it is stacked
 * on (`onto`). A setup that fails ends here, as the attempt's failed outcome.
 */
export async function openWorktree(
  deps: JobDeps,
  run: Run,
  signal: AbortSignal | undefined,
): Promise<Workspace | SetupFailed> {
  const started = performance.now();
  const { task, attempt, lease, repository, config } = run;
  const token = await deps.github.token(repository.installationId);
  const home = path.resolve(deps.env.DROVER_HOME);
  const base = baseBranchOf(repository, config);
  const start = readStart(attempt.start);
  // A pull request's base that is not the task's base branch (a person retargeted it): the mirror
  // fetches it too, for the merge. A task branch as base is fetched below, as GitHub has it.
  const mergeBase = start?.merge?.branch;
  const also =
    mergeBase && mergeBase !== base && !mergeBase.startsWith(DROVER_BRANCH_PREFIX) ? [mergeBase] : [];
  const mirror = await freshMirror(home, repository, token, signal, { base, since: attempt.createdAt, also });
  const runName = `${repository.id}-${task.issueNumber}-${attempt.number}-${lease.epoch}`;
  const fetch = (branch: string) =>
    fetchBranch({ mirror, cloneUrl: repository.cloneUrl, branch, token, ...(signal ? { signal } : {}) });
  const onBranch = start?.from === "branch";
  const fromBranch = onBranch ? await fetch(task.branch) : null;
  if (onBranch && fromBranch === null)
    run.log.info({ branch: task.branch }, "task branch not on GitHub; starting from the base branch");
  const stackedOn = fromBranch === null ? await stackStart(run, start?.onto, fetch) : null;
  // A stacked pull request's base is its blocker's branch, which the mirror does not fetch (see
  // ensureMirror): fetched now, where branchTip reads it for the merge.
  const mergeTip = mergeBase?.startsWith(DROVER_BRANCH_PREFIX) ? await fetch(mergeBase) : null;
  const from = fromBranch ?? stackedOn?.sha ?? null;
  // A shallow mirror's base history may stop short of where a branch forked from it: deepened, so
  // merges and the `base...head` ranges find their merge base.
  for (const commit of [from, mergeTip]) {
    if (commit === null) continue;
    await deepenToMergeBase({
      home,
      repoFullName: repository.fullName,
      cloneUrl: repository.cloneUrl,
      base,
      token,
      commit,
      ...(signal ? { signal } : {}),
    });
  }
  const claimed = await claimWorktree({
    home,
    repoFullName: repository.fullName,
    base,
    branch: task.branch,
    startSha: from ?? undefined,
    runName,
    setup: await poolSetup(deps, repository, config),
    signal,
  });
  // Undefined when setup did not run (none, or the slot's caches matched): no setup time to show.
  const setupMs = claimed.setup === null ? undefined : claimed.setupMs;
  const worktreeMs = Math.max(0, Math.round(performance.now() - started) - claimed.setupMs);
  const { baseSha, startSha, slot } = claimed;
  run.log.info({ warm: claimed.warm, worktreeMs, setupMs, slot: slot.id }, "worktree claimed");
  // The pool gave one up (or had none): filled again in the background, never in this attempt. A refill
  // that cannot be queued is the next push's or claim's to do; the attempt (holding its slot) goes on.
  await refillAfterClaim(deps, repository.id, attempt.id).catch((error: unknown) =>
    run.log.warn({ err: error }, "could not queue the pool's refill"),
  );
  failpoint("after-worktree", repository.fullName);
  const work = {
    home,
    token,
    mirror,
    path: claimed.path,
    slot,
    base,
    runName,
    baseSha: startSha,
    baseBranchSha: baseSha,
    fromBranch,
    stackedOn: stackedOn?.onto ?? null,
    pinned: [] as string[],
    worktreeMs,
    setupMs,
  };
  if (claimed.setup && !claimed.setup.ok) {
    await releaseWorkspace(deps, run, work);
    const timeoutMs = config.setup?.timeoutMs ?? 0;
    const outcome = failed(setupFailureReason(claimed.setup, timeoutMs), {
      summary: "The agent did not run.",
    });
    return {
      setupFailed: { ...outcome, fields: { baseSha, logTail: setupLogTail(claimed.setup) } },
      setupMs: claimed.setupMs,
    };
  }
  // A merge of the base pins the agent's configuration after merging (see jobs/run-task/merge.ts): the
  // merge must start from a clean worktree.
  try {
    work.pinned = start?.merge ? [] : await pinAgentConfig(work.path, baseSha, signal);
  } catch (error) {
    // The attempt never gets the worktree: handed back here, or the slot would stay claimed.
    await releaseWorkspace(deps, run, work);
    throw error;
  }
  return work;
}

/**
 * After the attempt (whatever became of it): its pooled worktree cleaned and handed back to the pool, or
 * removed. Never throws: the attempt's outcome matters more than a slot; one that could not be cleaned
 * is given up (the pool's filler recycles it).
 */
export async function releaseWorkspace(
  deps: JobDeps,
  run: Run,
  work: Pick<Workspace, "home" | "slot" | "base">,
): Promise<void> {
  try {
    // The agent's checks ran as its own user: git, as the worker's, refuses a tree another user owns.
    if (deps.env.DROVER_AGENT_USER)
      await chownTree(work.slot.path, process.getuid?.() ?? 0, process.getgid?.() ?? 0);
    const fate = await releaseWorktree({
      home: work.home,
      repoFullName: run.repository.fullName,
      base: work.base,
      slot: work.slot,
      max: run.config.pool.max,
    });
    run.log.info({ slot: work.slot.id, fate }, "worktree handed back");
  } catch (error) {
    run.log.warn({ err: error, slot: work.slot.id }, "worktree could not be handed back; given up");
    await dropClaim(work.home, run.repository.fullName, work.slot.id).catch(() => {});
  }
}

/** The base branch tasks of the repository start from. */
export function baseBranchOf(repository: Repository, config: DroverConfig): string {
  return config.base_branch ?? repository.defaultBranch;
}

/**
 * The repository's setup as the pool runs it (null-free: undefined when drover.yml has none): with the
 * agent's environment and OS user, a HOME of the repository's own and the shared package caches.
 */
export async function poolSetup(
  deps: JobDeps,
  repository: Repository,
  config: DroverConfig,
): Promise<PoolSetup<SetupResult> | undefined> {
  const setup = config.setup;
  const surroundings = await setupSurroundings(deps, repository);
  // The agent's run uses the same caches (jobs/run-task/agent.ts): made (and handed over) with or without setup.
  await prepareRepoCaches(surroundings);
  if (setup === undefined) return undefined;
  return {
    command: setup.command,
    run: (worktree, signal) =>
      runSetup({ setup, worktree, surroundings, signal }).catch((error: unknown) => {
        // The operator's to fix (a registry file the worker cannot read): no retry would do better.
        if (error instanceof SetupSurroundingsError) throw new PermanentJobError(error.message);
        throw error;
      }),
  };
}

/** Where setups of the repository run: the agent's environment and user, the operator's registry files. */
export async function setupSurroundings(deps: JobDeps, repository: Repository): Promise<SetupSurroundings> {
  return {
    home: path.resolve(deps.env.DROVER_HOME),
    repoFullName: repository.fullName,
    passEnv: deps.env.DROVER_AGENT_ENV,
    registryFiles: deps.env.DROVER_REGISTRY_FILES ?? [],
    workerHome: os.homedir(),
    runAs: await agentUser(deps),
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

/**
 * The repository's mirror, fetched (the base branch, and `need.also`) only when it is older than the
 * attempt needs (mirrorNeedsFetch): behind the base head the latest push webhook reported, or, with none
 * known, fetched before the attempt was made. Without `need`, the mirror only has to exist.
 */
export async function freshMirror(
  home: string,
  repository: Repository,
  token: string,
  signal: AbortSignal | undefined,
  need?: { base: string; since: Date; also?: readonly string[] },
): Promise<string> {
  const base = need?.base ?? repository.defaultBranch;
  // base_sha is the default branch's head: it says nothing of another base branch.
  const baseSha = base === repository.defaultBranch ? repository.baseSha : null;
  return ensureMirror({
    home,
    repoFullName: repository.fullName,
    cloneUrl: repository.cloneUrl,
    base,
    ...(need?.also ? { alsoBranches: need.also } : {}),
    token,
    // A retargeted pull request's base is fetched each time: the freshness decision knows only the base's.
    needsFetch: (state) =>
      need === undefined
        ? false
        : (need.also?.length ?? 0) > 0 || mirrorNeedsFetch({ state, base, baseSha, since: need.since }),
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
