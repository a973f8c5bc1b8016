import type { TaskState } from "../db/schema.ts";
import { criticalPaths, expectedDuration } from "../graph/critical-path.ts";
import { TaskGraph } from "../graph/graph.ts";
import { issueKey, newNode, type Edge, type IssueKey, type IssueNode } from "../graph/model.ts";
import { priorityFromLabels } from "../graph/order.ts";

/**
 * What a scheduling pass decides from (pure): the graph of issues with each task's node, and the rows it
 * was built from. The live graph (`live-graph.ts`) keeps one current between passes; tests and a full
 * rebuild make one from rows with `buildView`.
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
  /** The task branch (`drover/...`): what a task stacked on this one starts from. */
  branch: string;
  /** Its drover.yml says `stack: true`: it may start on a blocker's branch (src/graph/stack.ts). */
  stack: boolean;
  /** Its latest finished attempt concluded `success` (its check run passed): work a stack can build on. */
  passed: boolean;
};

export type PlanView = {
  graph: TaskGraph;
  tasks: ReadonlyMap<number, PlanTask>;
  issues: ReadonlyMap<IssueKey, PlanIssue>;
  /** The task at an issue, if it is one. */
  taskAt: (key: IssueKey) => PlanTask | undefined;
  /** Each node's critical path (`criticalPaths`), asked for only when a task may start. */
  criticalPaths: () => ReadonlyMap<IssueKey, number>;
};

export type ViewRows = {
  issues: readonly PlanIssue[];
  edges: readonly Edge[];
  tasks: readonly PlanTask[];
  /** Recent successful run durations per repository id: the expected duration of its tasks. */
  durations: ReadonlyMap<number, readonly number[]>;
};

export const taskKey = (task: PlanTask): IssueKey => issueKey(task.repoFullName, task.issueNumber);

/** The graph's node for one issue: GitHub's view of it, with Drover's task state when it is a task. */
export function nodeOf(
  key: IssueKey,
  issue: PlanIssue | undefined,
  task: PlanTask | undefined,
  durations: ReadonlyMap<number, readonly number[]>,
): IssueNode {
  const base = issue
    ? newNode(key, {
        isTask: false,
        issueState: issue.state,
        closedAs: issue.closedAs,
        readable: issue.readable,
        ...(issue.unreadableReason ? { unreadableReason: issue.unreadableReason } : {}),
        priority: priorityFromLabels(issue.labels),
        createdAt: issue.githubCreatedAt?.getTime() ?? 0,
        ...(issue.parentKey ? { parent: issue.parentKey } : {}),
        ...(issue.subOrder !== null ? { subOrder: issue.subOrder } : {}),
      })
    : newNode(key, { isTask: false, createdAt: task?.createdAt.getTime() ?? 0 });
  if (!task) return base;
  return {
    ...base,
    isTask: true,
    // Drover's own record wins for tasks: a merged PR makes the task done before GitHub's issue closes.
    taskState: task.state,
    expectedMs: expectedDuration(durations.get(task.repoId) ?? []),
  };
}

/** A view built from scratch. */
export function buildView(rows: ViewRows): PlanView {
  const issues = new Map(rows.issues.map((issue) => [issue.key, issue]));
  const tasks = new Map(rows.tasks.map((task) => [task.id, task]));
  const taskByKey = new Map(rows.tasks.map((task) => [taskKey(task), task]));
  const keys = new Set<IssueKey>([...issues.keys(), ...taskByKey.keys()]);
  const nodes = [...keys].map((key) => nodeOf(key, issues.get(key), taskByKey.get(key), rows.durations));
  const graph = TaskGraph.rebuild(nodes, rows.edges);
  let paths: ReadonlyMap<IssueKey, number> | undefined;
  return {
    graph,
    tasks,
    issues,
    taskAt: (key) => taskByKey.get(key),
    criticalPaths: () => (paths ??= criticalPaths(graph)),
  };
}
