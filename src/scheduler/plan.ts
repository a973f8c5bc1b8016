import type { Onto } from "../db/attempt-start.ts";
import type { TaskState } from "../db/schema.ts";
import type { Readiness, WaitingOn } from "../graph/graph.ts";
import { describeKey, type IssueKey, type IssueNode } from "../graph/model.ts";
import { orderReady } from "../graph/order.ts";
import { stackOnto } from "../graph/stack.ts";
import { pickTasks } from "./pick.ts";
import { taskKey, type PlanIssue, type PlanTask, type PlanView } from "./plan-view.ts";

export type { PlanIssue, PlanTask } from "./plan-view.ts";

/**
 * One scheduling pass, decided from the graph (pure): which tasks become ready or go back to waiting and
 * why, which cycles are new or broken, and which ready tasks start now, in order.
 */

export type Plan = {
  readiness: {
    id: number;
    from: "waiting" | "ready" | "queued";
    to: "waiting" | "ready";
    reason: string | null;
    /** Stacked (drover.yml `stack: true`): ready on this blocker's branch. */
    onto?: Onto;
  }[];
  cycles: { id: number; cycle: string | null }[];
  start: number[];
};

export type PassLimits = {
  /** Free agent slots in the worker pool, before this pass. */
  capacity: number;
  /** Moves on every pass, so no installation or repository is always first among equals. */
  cursor: number;
};

/** Not started yet: a queued task whose blocker reopened goes back to waiting (its attempt is dropped). */
const NOT_STARTED: readonly TaskState[] = ["waiting", "ready", "queued"];
const HOLDING_A_WORKER: readonly TaskState[] = ["queued", "running"];
const FINISHED: readonly TaskState[] = ["done", "cancelled"];

/**
 * The pass over `view`, looking again at the tasks in `consider` (those whose readiness, reason or cycle may
 * have changed since their rows were written; every other task's row already says what the graph does).
 * The start order looks at every ready task.
 */
export function planPass(view: PlanView, consider: Iterable<number>, limits: PassLimits): Plan {
  const plan: Plan = { readiness: [], cycles: [], start: [] };
  for (const id of new Set(consider)) {
    const task = view.tasks.get(id);
    if (task) reviewTask(view, task, plan);
  }
  const moved = new Map(plan.readiness.map((change) => [change.id, change.to]));
  const ready: PlanTask[] = [];
  const holding: PlanTask[] = [];
  for (const task of view.tasks.values()) {
    const state = moved.get(task.id) ?? task.state;
    if (state === "ready") ready.push(task);
    else if (HOLDING_A_WORKER.includes(state)) holding.push(task);
  }
  plan.start = startOrder(view, ready, holding, limits);
  return plan;
}

function reviewTask(view: PlanView, task: PlanTask, plan: Plan): void {
  if (FINISHED.includes(task.state)) {
    if (task.cycle !== null) plan.cycles.push({ id: task.id, cycle: null });
    return;
  }
  const key = taskKey(task);
  const readiness = view.graph.readiness(key);
  const cycle = readiness.kind === "cycle" ? describePath(readiness.cycle, task.repoFullName) : null;
  if (cycle !== task.cycle) plan.cycles.push({ id: task.id, cycle });
  if (!NOT_STARTED.includes(task.state)) return;

  const synced = view.issues.get(key)?.linksSyncedAt != null;
  const onto = synced ? stackedOn(view, task, readiness) : null;
  const to: "waiting" | "ready" = synced && (readiness.kind === "ready" || onto) ? "ready" : "waiting";
  const reason = !synced
    ? "reading its links from GitHub"
    : onto
      ? stackedWords(onto)
      : explain(readiness, task.repoFullName, view.issues);
  const from = task.state as "waiting" | "ready" | "queued";
  const move = { id: task.id, from, to, reason, ...(onto ? { onto } : {}) };
  if (from === "queued") {
    if (to === "waiting") plan.readiness.push(move);
    return;
  }
  if (to !== from || reason !== task.stateReason) plan.readiness.push(move);
}

/**
 * The blocker a task with `stack: true` starts on while it waits for that blocker only: a task of the same
 * repository in review whose latest attempt passed (its branch is on GitHub, its checks green).
 */
function stackedOn(view: PlanView, task: PlanTask, readiness: Readiness): Onto | null {
  if (!task.stack) return null;
  const key = stackOnto(readiness, (blocker) => {
    const under = view.taskAt(blocker);
    return under?.repoId === task.repoId && under.state === "review" && under.passed;
  });
  const blocker = key === null ? undefined : view.taskAt(key);
  return blocker ? { branch: blocker.branch, taskId: blocker.id, issueNumber: blocker.issueNumber } : null;
}

/** The ready reason of a stacked task; it changes with the blocker, so a new blocker is written again. */
function stackedWords(onto: Onto): string {
  return `stacked on #${onto.issueNumber}: starts on its branch \`${onto.branch}\` (in review, its checks passed); its pull request targets that branch until #${onto.issueNumber} merges`;
}

/** Which ready tasks start now, best first, within the pool's free slots and each repository's limit. */
function startOrder(
  view: PlanView,
  ready: readonly PlanTask[],
  holding: readonly PlanTask[],
  limits: PassLimits,
): number[] {
  const free = limits.capacity - holding.length;
  if (ready.length === 0 || free <= 0) return [];
  const nodes = ready
    .map((task) => view.graph.node(taskKey(task)))
    .filter((node): node is IssueNode => !!node);
  const ordered = orderReady(nodes, view.criticalPaths());
  const taskByKey = new Map(ready.map((task) => [taskKey(task), task]));
  const maxWorkers = repositoryLimits(view.tasks.values());
  const picked = pickTasks({
    ready: ordered.map((node) => {
      const task = taskByKey.get(node.key)!;
      return { key: node.key, repo: task.repoFullName, installation: task.installationId };
    }),
    running: holding.map((task) => ({ repo: task.repoFullName, installation: task.installationId })),
    maxWorkers: (repo) => maxWorkers.get(repo) ?? 1,
    capacity: free,
    cursor: limits.cursor,
  });
  return picked.map((key) => taskByKey.get(key)!.id);
}

/**
 * Each repository's `max_workers`, from its newest task's config (the drover.yml most recently read for
 * it; tasks keep the config they were triggered with). Chosen by age, then id, so a graph kept in memory
 * and one loaded from scratch agree.
 */
function repositoryLimits(tasks: Iterable<PlanTask>): Map<string, number> {
  const newest = new Map<string, PlanTask>();
  for (const task of tasks) {
    const known = newest.get(task.repoFullName);
    const newer =
      !known ||
      task.createdAt.getTime() > known.createdAt.getTime() ||
      (task.createdAt.getTime() === known.createdAt.getTime() && task.id > known.id);
    if (newer) newest.set(task.repoFullName, task);
  }
  return new Map([...newest].map(([repo, task]) => [repo, task.maxWorkers]));
}

function describePath(keys: readonly IssueKey[], here: string): string {
  return keys.map((key) => describeKey(key, here)).join(" → ");
}

const SOURCE_WORDS = {
  native: "a blocked-by link",
  body: "the issue text",
  "sub-issue": "a sub-issue",
} as const;

function explain(readiness: Readiness, here: string, issues: ReadonlyMap<string, PlanIssue>): string | null {
  switch (readiness.kind) {
    case "ready":
      return null;
    case "cycle":
      return `in a dependency cycle (${describePath(readiness.cycle, here)}); it cannot run until a link is removed`;
    case "waiting":
      return `waiting for ${readiness.on.map((on) => waitingWords(on, here, issues)).join("; ")}`;
  }
}

function waitingWords(on: WaitingOn, here: string, issues: ReadonlyMap<string, PlanIssue>): string {
  const name = `${describeKey(on.blocker, here)} (from ${SOURCE_WORDS[on.source]})`;
  switch (on.why) {
    case "open":
      return `${name} to be done`;
    case "not-planned":
      return `${name}, which was closed as not planned: a person decides (remove the link, or close it as completed)`;
    case "unreadable":
      return `${name}, which ${issues.get(on.blocker)?.unreadableReason ?? "Drover cannot read"}`;
    case "missing":
      return `${name}, which Drover has not read yet`;
  }
}
