import { taskConfig, UnreadableConfigError } from "../src/config/stored.ts";
import type { DroverConfig } from "../src/config/schema.ts";
import type { AttemptStart } from "../src/db/attempt-start.ts";
import {
  baseBranchOf,
  conflictAttempts,
  FOLLOWED,
  latestCheckRun,
  markBaseMoved,
  tasksOnBase,
  type FollowedState,
} from "../src/db/base-pulls.ts";
import { getDelivery, markDeliveryProcessed, type Delivery } from "../src/db/deliveries.ts";
import { withIssueLock } from "../src/db/issue-lock.ts";
import { getRepository, type Repository } from "../src/db/repositories.ts";
import { findTaskByPullRequest, getTask, transitionTask, type Task } from "../src/db/tasks.ts";
import { updateCheckRun } from "../src/github/checks.ts";
import { readPull, readPullsOnBase, type PullMergeability } from "../src/github/mergeability.ts";
import { renderConflictCheck, renderFollowReason, type BaseMove } from "../src/github/render.ts";
import { repoRef, type Octokit, type RepoRef } from "../src/github/types.ts";
import { decideFollow, type FollowDecision } from "../src/graph/follow-base.ts";
import { PullRequestSynchronize, PushEvent } from "../src/intake/payloads.ts";
import { PermanentJobError } from "../src/queue/queue.ts";
import { requestSchedule } from "../src/scheduler/request.ts";
import { pullBase, stackOf } from "../src/db/stacks.ts";
import { DROVER_BRANCH_PREFIX } from "../src/git/branch.ts";
import type { JobDeps } from "./deps.ts";
import { showTask } from "./show-task.ts";
import { warmAfterPush } from "./warm-pool.ts";

/**
 * What a delivery moved under Drover's pull requests: a base branch (a push to it: every open pull
 * request on it is looked at), or one pull request's own branch (someone else's commits on it).
 */
type Moved = {
  repoId: number;
  by: string;
  /** The base branch that moved, and where to; absent for a push to the pull request's own branch. */
  base?: { branch: string; sha: string };
  /** The pull request whose branch moved. */
  pull?: { number: number; headRef: string };
};

function movedOf(delivery: Delivery): Moved {
  if (delivery.event === "push") {
    const p = PushEvent.parse(delivery.payload);
    return {
      repoId: p.repository.id,
      by: p.sender.login,
      base: { branch: p.ref.slice("refs/heads/".length), sha: p.after },
    };
  }
  const p = PullRequestSynchronize.parse(delivery.payload);
  return {
    repoId: p.repository.id,
    by: p.sender.login,
    pull: { number: p.pull_request.number, headRef: p.pull_request.head.ref },
  };
}

/**
 * A push to a branch, or someone else's push to one of Drover's pull requests. Each open pull request of
 * a task in review (or waiting in conflict) on the branch that moved is decided on
 * (src/graph/follow-base.ts): left alone, brought up to date, given to the agent to resolve its
 * conflicts, or left to a person (`drover:conflict`); a task in conflict whose pull request merges again
 * goes back to review. What GitHub says of them is asked once for them all (src/github/mergeability.ts):
 * a push to a base costs one query however many pull requests it has, and a push to a branch no such pull
 * request targets costs one database query and no request.
 */
export async function followBase(deps: JobDeps, payload: { deliveryId: string }): Promise<void> {
  const delivery = await getDelivery(deps.db, payload.deliveryId);
  if (!delivery) throw new PermanentJobError(`delivery ${payload.deliveryId} is not recorded`);
  if (delivery.processedAt) return;
  const done = (outcome: string) => markDeliveryProcessed(deps.db, delivery.id, outcome);
  const moved = movedOf(delivery);
  const repository = await getRepository(deps.db, moved.repoId);
  if (!repository) return done("no task in this repository");
  // Tasks still at work from this base are looked at once their pull request is published (followPull).
  if (moved.base) {
    await markBaseMoved(deps.db, repository.id, moved.base, repository.defaultBranch);
    // The pool's base moved: recorded, and the mirror fetched in the background (jobs/warm-pool.ts).
    await warmAfterPush(deps, delivery, repository);
  }
  const followed = (await followedTasks(deps, moved, repository)).filter((task) => {
    // One task's unreadable drover.yml must not hold up the others on the base; its next trigger records it.
    if (readableConfig(task)) return true;
    deps.log.warn({ taskId: task.id, pr: task.prNumber }, "pull request not followed: unreadable drover.yml");
    return false;
  });
  if (followed.length === 0) return done("no Drover pull request to follow");

  const octokit = await deps.github.installation(repository.installationId);
  const pulls = await readFollowed(deps, octokit, repository, moved, followed);
  const outcomes: FollowDecision["kind"][] = [];
  for (const task of followed) {
    const outcome = await followPullRequest(deps, {
      octokit,
      repository,
      task,
      pulls,
      by: moved.by,
      ...(moved.base ? { base: moved.base } : {}),
    });
    outcomes.push(outcome);
  }
  if (outcomes.some((kind) => kind === "update" || kind === "resolve")) await requestSchedule(deps);
  // Still working some out after a while: the job tries again later (what is decided is not redone).
  const unknown = followed
    .filter((_task, i) => outcomes[i] === "ask-again")
    .map((task) => `#${task.prNumber}`);
  if (unknown.length > 0)
    throw new Error(`GitHub has not worked out whether ${unknown.join(", ")} merge into their base`);
  await done(outcomes.join(", "));
}

/**
 * A pull request published after its base moved under the agent (`markBaseMoved`): read once (one
 * pull request, so REST), and decided on as the push would have been; GitHub still working it out → the
 * job tries again later.
 */
export async function followPull(deps: JobDeps, payload: { taskId: number }): Promise<void> {
  const task = await getTask(deps.db, payload.taskId);
  if (!task || !isFollowed(task) || !readableConfig(task)) return;
  const repository = await getRepository(deps.db, task.repoId);
  if (!repository) return;
  const octokit = await deps.github.installation(repository.installationId);
  const pull = await readPull(octokit, repoRef(repository.fullName), task.prNumber);
  const base = await baseOfTask(deps, task, repository);
  const pulls = new Map(pull.state === "open" && pull.baseRef === base ? [[pull.number, pull]] : []);
  const outcome = await followPullRequest(deps, {
    octokit,
    repository,
    task,
    pulls,
    by: task.modifiedBy ?? task.createdBy,
  });
  if (outcome === "update" || outcome === "resolve") await requestSchedule(deps);
  if (outcome === "ask-again")
    throw new Error(`GitHub has not worked out whether #${task.prNumber} merges into ${base}`);
}

/** The tasks whose pull request the move concerns. */
async function followedTasks(deps: JobDeps, moved: Moved, repository: Repository): Promise<FollowedTask[]> {
  if (moved.base) return tasksOnBase(deps.db, repository.id, moved.base.branch, repository.defaultBranch);
  if (!moved.pull) return [];
  const task = await findTaskByPullRequest(deps.db, repository.id, moved.pull);
  return task && isFollowed(task) ? [task] : [];
}

type FollowedTask = Task & { state: FollowedState; prNumber: number };

function isFollowed(task: Task): task is FollowedTask {
  return (FOLLOWED as readonly string[]).includes(task.state) && task.prNumber !== null;
}

/**
 * What GitHub says of the followed tasks' pull requests, by number: those still open on the branch they
 * follow (one closed or retargeted meanwhile is not there). All of a base's at once; a pull request whose
 * own branch moved, by number.
 */
async function readFollowed(
  deps: JobDeps,
  octokit: Octokit,
  repository: Repository,
  moved: Moved,
  followed: FollowedTask[],
): Promise<Map<number, PullMergeability>> {
  const repo = repoRef(repository.fullName);
  const numbers = followed.map((task) => task.prNumber);
  if (moved.base) return readPullsOnBase(octokit, repo, moved.base.branch, numbers);
  const open = new Map<number, PullMergeability>();
  for (const task of followed) {
    const pull = await readPull(octokit, repo, task.prNumber);
    if (pull.state === "open" && pull.baseRef === (await baseOfTask(deps, task, repository)))
      open.set(pull.number, pull);
  }
  return open;
}

/** The branch a task's pull request targets: its blocker's when it is stacked, else its base branch. */
async function baseOfTask(deps: JobDeps, task: Task, repository: Repository): Promise<string> {
  return pullBase(await stackOf(deps.db, task.id), baseBranchOf(task, repository.defaultBranch));
}

/**
 * One task's pull request, decided on from what GitHub said of it (`pulls`, by number). `base`: the push
 * to its base branch this follows; without it, its own branch moved (the base did not). Run under the
 * issue's lock, which it takes. Returns what was decided ("ask-again" when GitHub had not worked it out:
 * nothing done).
 */
export async function followPullRequest(
  deps: JobDeps,
  run: {
    octokit: Octokit;
    repository: Repository;
    task: Pick<Task, "id" | "repoId" | "issueNumber">;
    pulls: ReadonlyMap<number, PullMergeability>;
    by: string;
    base?: { branch: string; sha: string };
  },
): Promise<FollowDecision["kind"]> {
  // Under the issue's lock, read again: a command or publish may have moved the task since it was listed.
  return withIssueLock(deps.db, run.task.repoId, run.task.issueNumber, () => followLocked(deps, run));
}

async function followLocked(
  deps: JobDeps,
  run: Parameters<typeof followPullRequest>[1],
): Promise<FollowDecision["kind"]> {
  const task = await getTask(deps.db, run.task.id);
  if (!task || !isFollowed(task)) return "nothing";
  const repo = repoRef(run.repository.fullName);
  const log = deps.log.child({ taskId: task.id, pr: task.prNumber });
  const config = readableConfig(task);
  if (!config) return "nothing";
  const base = run.base?.branch ?? (await baseOfTask(deps, task, run.repository));
  const pull = run.pulls.get(task.prNumber);
  if (!pull) {
    // Closed (close-task's), or retargeted: not on the branch that moved.
    log.info({ base }, "pull request not followed: not open on its base");
    return "nothing";
  }
  const decision = decideFollow({
    state: task.state,
    mergeable: pull.mergeable,
    // A pull request stacked on a blocker's branch takes every change of it (a rework), conflicting or not.
    updateBranch: base.startsWith(DROVER_BRANCH_PREFIX) ? "always" : config.update_branch,
    baseMoved: run.base !== undefined,
    conflictAttempts: await conflictAttempts(deps.db, task.id, task.prNumber),
    maxConflictAttempts: config.max_conflict_attempts,
  });
  log.info({ decision: decision.kind, base, headSha: pull.headSha }, "pull request followed");
  const move: BaseMove = { base, by: run.by, ...(run.base ? { sha: run.base.sha } : {}) };
  const applied = await apply(deps, { ...run, repo, task, config, move, headSha: pull.headSha }, decision);
  if (applied) await showTask(deps, run.octokit, repo, task.id);
  return decision.kind;
}

function readableConfig(task: Task): DroverConfig | undefined {
  try {
    return taskConfig(task);
  } catch (error) {
    if (error instanceof UnreadableConfigError) return undefined;
    throw error;
  }
}

type Followed = {
  octokit: Octokit;
  repo: RepoRef;
  task: Task & { prNumber: number };
  config: DroverConfig;
  move: BaseMove;
  headSha: string;
};

/** Makes the decision; false when there was nothing to make, or the task moved meanwhile. */
async function apply(deps: JobDeps, followed: Followed, decision: FollowDecision): Promise<boolean> {
  const { task, move } = followed;
  switch (decision.kind) {
    case "ask-again":
    case "nothing":
      return false;
    case "update":
      return requeue(deps, followed, "update", renderFollowReason(task.prNumber, move, decision));
    case "resolve":
      await markConflicting(deps, followed, decision);
      return requeue(deps, followed, "conflict", renderFollowReason(task.prNumber, move, decision));
    case "wait-for-person": {
      await markConflicting(deps, followed, decision);
      const maxConflictAttempts = followed.config.max_conflict_attempts;
      const moved = await transitionTask(
        deps.db,
        task.id,
        ["review"],
        "conflict",
        {
          stateReason: renderFollowReason(task.prNumber, move, { kind: decision.kind, maxConflictAttempts }),
        },
        { by: move.by, data: { base: move.base } },
      );
      return moved !== undefined;
    }
    case "mergeable-again": {
      const moved = await transitionTask(
        deps.db,
        task.id,
        ["conflict"],
        "review",
        { stateReason: renderFollowReason(task.prNumber, move, decision) },
        { by: move.by, data: { base: move.base } },
      );
      return moved !== undefined;
    }
  }
}

/**
 * Review → ready, the next attempt starting on the pull request's head with its base merged in first
 * (src/db/attempt-start.ts `merge`), as a rework's does with a review.
 */
async function requeue(
  deps: JobDeps,
  followed: Followed,
  cause: "update" | "conflict",
  reason: string,
): Promise<boolean> {
  const { task, move } = followed;
  const nextStart: AttemptStart = {
    from: "branch",
    cause,
    by: move.by,
    prNumber: task.prNumber,
    merge: { branch: move.base, ...(move.sha ? { sha: move.sha } : {}) },
  };
  const moved = await transitionTask(
    deps.db,
    task.id,
    ["review"],
    "ready",
    { stateReason: reason, nextStart, nextAttemptAt: null },
    { by: move.by, data: { cause, base: move.base } },
  );
  return moved !== undefined;
}

/**
 * The `Drover` check run on the pull request's head, if publish made one there, says the pull request
 * conflicts with its base (`action_required`), and what happens next. A head someone else pushed has no
 * check run of Drover's: nothing to correct.
 */
async function markConflicting(
  deps: JobDeps,
  followed: Followed,
  outcome: Extract<FollowDecision, { kind: "resolve" | "wait-for-person" }>,
): Promise<void> {
  const check = await latestCheckRun(deps.db, followed.task.id);
  if (!check || check.headSha !== followed.headSha) return;
  await updateCheckRun(followed.octokit, followed.repo, check.id, {
    conclusion: "action_required",
    ...renderConflictCheck(followed.move, outcome),
  });
}
