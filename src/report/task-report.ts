import { describeKey, issueKey, type EdgeSource, type IssueKey, type TaskState } from "../graph/model.ts";
import type { GraphTaskRow, IssueRow, DependencyRow } from "../db/graph-rows.ts";

/** `drover status`: a repository's tasks, states and edges as text for a terminal. Pure. */

export type ReportRow = {
  key: IssueKey;
  number: number;
  title: string;
  /** Drover's state for tasks; for other issues, GitHub's ("open", "closed"). */
  state: TaskState | "open" | "closed" | "not planned" | "unreadable";
  isTask: boolean;
  parent: IssueKey | null;
  subOrder: number | null;
  reason: string | null;
  cycle: string | null;
  /** For tasks: the issue's author, the last person who steered it, and who completed it. */
  createdBy?: string | null;
  steeredBy?: string | null;
  completedBy?: string | null;
};

export type ReportEdge = { dependent: IssueKey; blocker: IssueKey; source: EdgeSource };

const SOURCE = { native: "link", body: "text", "sub-issue": "sub-issue" } as const;

export function renderTaskReport(input: {
  repoFullName: string;
  rows: readonly ReportRow[];
  edges: readonly ReportEdge[];
  tree: boolean;
}): string {
  const here = input.repoFullName;
  const byKey = new Map(input.rows.map((row) => [row.key, row]));
  const tasks = input.rows.filter((row) => row.isTask && row.key.startsWith(`${here.toLowerCase()}#`));
  if (tasks.length === 0) return `${here}: no tasks. Label an issue to start one.\n`;

  const blockersOf = (key: IssueKey) =>
    input.edges
      .filter((edge) => edge.dependent === key && edge.source !== "sub-issue")
      .map((edge) => {
        const blocker = byKey.get(edge.blocker);
        return `${describeKey(edge.blocker, here)} (${blocker?.state ?? "unknown"}, ${SOURCE[edge.source]})`;
      });
  const counts = new Map<string, number>();
  for (const task of tasks) counts.set(task.state, (counts.get(task.state) ?? 0) + 1);
  const header = `${here}: ${tasks.length} task${tasks.length === 1 ? "" : "s"} (${[...counts]
    .map(([state, n]) => `${n} ${state}`)
    .join(", ")})`;

  const line = (row: ReportRow) => {
    const notes = [
      ...(blockersOf(row.key).length > 0 ? [`blocked by ${blockersOf(row.key).join(", ")}`] : []),
      ...(row.cycle ? [`cycle ${row.cycle}`] : []),
    ];
    const label = row.isTask ? row.state : `${row.state}, not a task`;
    const who = people(row);
    return `${describeKey(row.key, here).padEnd(6)} ${label.padEnd(10)} ${row.title}${notes.length ? `  [${notes.join("; ")}]` : ""}${who ? `  (${who})` : ""}`;
  };

  if (!input.tree)
    return (
      [header, ...tasks.sort((a, b) => a.number - b.number).map((t) => `  ${line(t)}`)].join("\n") + "\n"
    );

  // Tree: stories (issues with sub-issues) with their children in GitHub's order; tasks outside stories after.
  const childrenOf = new Map<IssueKey, ReportRow[]>();
  for (const row of input.rows) {
    if (!row.parent) continue;
    const list = childrenOf.get(row.parent) ?? [];
    list.push(row);
    childrenOf.set(row.parent, list);
  }
  for (const list of childrenOf.values()) list.sort((a, b) => (a.subOrder ?? 0) - (b.subOrder ?? 0));
  const out = [header];
  const shown = new Set<IssueKey>();
  const walk = (row: ReportRow, prefix: string, last: boolean, depth: number) => {
    shown.add(row.key);
    out.push(`${prefix}${depth === 0 ? "" : last ? "└─ " : "├─ "}${line(row)}`);
    const children = childrenOf.get(row.key) ?? [];
    const next = depth === 0 ? prefix + "  " : prefix + (last ? "   " : "│  ");
    children.forEach((child, i) => {
      if (!shown.has(child.key)) walk(child, next, i === children.length - 1, depth + 1);
    });
  };
  const roots = input.rows
    .filter((row) => !row.parent || !byKey.has(row.parent))
    .filter((row) => row.isTask || childrenOf.has(row.key))
    .filter((row) => row.key.startsWith(`${here.toLowerCase()}#`))
    .sort((a, b) => a.number - b.number);
  for (const root of roots) walk(root, "  ", true, 0);
  return out.join("\n") + "\n";
}

/** "created by @a, steered by @b, completed by @c", as far as the row knows them. */
function people(row: ReportRow): string {
  return [
    row.createdBy ? `created by @${row.createdBy}` : null,
    row.steeredBy ? `steered by @${row.steeredBy}` : null,
    row.completedBy ? `completed by @${row.completedBy}` : null,
  ]
    .filter(Boolean)
    .join(", ");
}

/** Status rows from what PostgreSQL holds: tasks with Drover's state, other issues with GitHub's. */
export function reportRows(graph: {
  issues: readonly IssueRow[];
  edges: readonly DependencyRow[];
  tasks: readonly GraphTaskRow[];
}): { rows: ReportRow[]; edges: ReportEdge[] } {
  const rows = new Map<IssueKey, ReportRow>();
  for (const issue of graph.issues) {
    rows.set(issue.key, {
      key: issue.key,
      number: issue.number,
      title: issue.title,
      state: !issue.readable
        ? "unreadable"
        : issue.state === "closed"
          ? issue.closedAs === "not_planned"
            ? "not planned"
            : "closed"
          : "open",
      isTask: false,
      parent: issue.parentKey,
      subOrder: issue.subOrder,
      reason: issue.unreadableReason,
      cycle: null,
    });
  }
  for (const task of graph.tasks) {
    const key = issueKey(task.repoFullName, task.issueNumber);
    const issue = rows.get(key);
    rows.set(key, {
      key,
      number: task.issueNumber,
      title: task.title,
      state: task.state,
      isTask: true,
      parent: issue?.parent ?? null,
      subOrder: issue?.subOrder ?? null,
      reason: task.stateReason,
      cycle: task.cycle,
      createdBy: task.createdBy,
      steeredBy: task.modifiedBy,
      completedBy: task.completedBy,
    });
  }
  return {
    rows: [...rows.values()],
    edges: graph.edges.map(({ dependent, blocker, source }) => ({ dependent, blocker, source })),
  };
}
