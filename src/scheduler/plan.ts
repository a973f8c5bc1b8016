import type { TaskState } from "../db/schema.ts";
import { criticalPaths, expectedDuration } from "../graph/critical-path.ts";
import { TaskGraph, type Readiness, type WaitingOn } from "../graph/graph.ts";
import { describeKey, issueKey, newNode, type Edge, type IssueKey, type IssueNode } from "../graph/model.ts";
import { orderReady, priorityFromLabels } from "../graph/order.ts";
import { pickTasks } from "./pick.ts";

/**
 * One scheduling pass, decided from plain rows (pure): which tasks become ready or go back to waiting and
 * why, which cycles are new or broken, and which ready tasks start now, in order.
 */

export type PlanIssue = {
  key: string;
  repoFullName: string;
  number: number;
  state: "open" | "closed";
  closedAs: "completed" | "not_planned" | null;
  labels: string[];
  parentKey: string | null;
  subOrder: number | null;
  readable: boolean;
  unreadableReason: string | null;
  githubCreatedAt: Date | null;
  linksSyncedAt: Date | null;
};

export type PlanTask = {
  id: number;
  repoId: number;
  repoFullName: string;
  installationId: number;
  issueNumber: number;
  state: TaskState;
  cycle: string | null;
  stateReason: string | null;
  maxWorkers: number;
  createdAt: Date;
};

export type PlanInput = {
  issues: readonly PlanIssue[];
  edges: readonly Edge[];
  tasks: readonly PlanTask[];
  /** Recent successful run durations per repository id: the expected duration of its tasks. */
  durations: ReadonlyMap<number, readonly number[]>;
  /** Free agent slots in the worker pool, before this pass. */
  capacity: number;
  cursor: number;
};

export type Plan = {
  readiness: {
    id: number;
    from: "waiting" | "ready" | "queued";
    to: "waiting" | "ready";
    reason: string | null;
  }[];
  cycles: { id: number; cycle: string | null }[];
  start: number[];
};

/** Not started yet: a queued task whose blocker reopened goes back to waiting (its attempt is dropped). */
const NOT_STARTED: readonly TaskState[] = ["waiting", "ready", "queued"];
const HOLDING_A_WORKER: readonly TaskState[] = ["queued", "running"];
const FINISHED: readonly TaskState[] = ["done", "cancelled"];

export function planPass(input: PlanInput): Plan {
  const issueByKey = new Map(input.issues.map((issue) => [issue.key, issue]));
  const graph = TaskGraph.rebuild(nodesOf(input, issueByKey), input.edges);
  const keyOf = (task: PlanTask) => issueKey(task.repoFullName, task.issueNumber);

  const plan: Plan = { readiness: [], cycles: [], start: [] };
  const ready: PlanTask[] = [];
  for (const task of input.tasks) {
    if (FINISHED.includes(task.state)) {
      if (task.cycle !== null) plan.cycles.push({ id: task.id, cycle: null });
      continue;
    }
    const key = keyOf(task);
    const readiness = graph.readiness(key);
    const cycle = readiness.kind === "cycle" ? describePath(readiness.cycle, task.repoFullName) : null;
    if (cycle !== task.cycle) plan.cycles.push({ id: task.id, cycle });
    if (!NOT_STARTED.includes(task.state)) continue;

    const synced = issueByKey.get(key)?.linksSyncedAt != null;
    const to = synced && readiness.kind === "ready" ? "ready" : "waiting";
    const reason = synced
      ? explain(readiness, task.repoFullName, issueByKey)
      : "reading its links from GitHub";
    const from = task.state as "waiting" | "ready" | "queued";
    if (from === "queued") {
      if (to === "waiting") plan.readiness.push({ id: task.id, from, to, reason });
      continue;
    }
    if (to !== from || reason !== task.stateReason) plan.readiness.push({ id: task.id, from, to, reason });
    if (to === "ready") ready.push(task);
  }

  const requeued = new Set(plan.readiness.filter((r) => r.from === "queued").map((r) => r.id));
  const holding = input.tasks.filter(
    (task) => HOLDING_A_WORKER.includes(task.state) && !requeued.has(task.id),
  );
  const nodes = ready.map((task) => graph.node(keyOf(task))).filter((node): node is IssueNode => !!node);
  const ordered = orderReady(nodes, criticalPaths(graph));
  const taskByKey = new Map(ready.map((task) => [keyOf(task), task]));
  const maxWorkers = new Map(input.tasks.map((task) => [task.repoFullName, task.maxWorkers]));
  const picked = pickTasks({
    ready: ordered.map((node) => {
      const task = taskByKey.get(node.key)!;
      return { key: node.key, repo: task.repoFullName, installation: task.installationId };
    }),
    running: holding.map((task) => ({ repo: task.repoFullName, installation: task.installationId })),
    maxWorkers: (repo) => maxWorkers.get(repo) ?? 1,
    capacity: input.capacity - holding.length,
    cursor: input.cursor,
  });
  plan.start = picked.map((key) => taskByKey.get(key)!.id);
  return plan;
}

function nodesOf(input: PlanInput, issueByKey: ReadonlyMap<string, PlanIssue>): IssueNode[] {
  const nodes = new Map<IssueKey, IssueNode>();
  for (const issue of input.issues) {
    nodes.set(
      issue.key,
      newNode(issue.key, {
        isTask: false,
        issueState: issue.state,
        closedAs: issue.closedAs,
        readable: issue.readable,
        ...(issue.unreadableReason ? { unreadableReason: issue.unreadableReason } : {}),
        priority: priorityFromLabels(issue.labels),
        createdAt: issue.githubCreatedAt?.getTime() ?? 0,
        ...(issue.parentKey ? { parent: issue.parentKey } : {}),
        ...(issue.subOrder !== null ? { subOrder: issue.subOrder } : {}),
      }),
    );
  }
  for (const task of input.tasks) {
    const key = issueKey(task.repoFullName, task.issueNumber);
    const base = nodes.get(key) ?? newNode(key, { createdAt: task.createdAt.getTime() });
    const issue = issueByKey.get(key);
    nodes.set(key, {
      ...base,
      isTask: true,
      // Drover's own record wins for tasks: a merged PR makes the task done before GitHub's issue closes.
      taskState: task.state,
      readable: issue?.readable ?? true,
      expectedMs: expectedDuration(input.durations.get(task.repoId) ?? []),
    });
  }
  return [...nodes.values()];
}

export function describePath(keys: readonly IssueKey[], here: string): string {
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
