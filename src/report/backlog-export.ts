import { checkBacklog, type BacklogItem, type BacklogKind, type BacklogState } from "../graph/backlog.ts";
import { PRIORITIES, isPriorityLabel, type PriorityName } from "../graph/commands.ts";
import { issueKey } from "../graph/model.ts";
import { priorityFromLabels } from "../graph/order.ts";
import type { ExportAttempt, ExportEvent, ExportRows, ExportTask } from "../db/export.ts";
import { groupBy } from "../lib/group-by.ts";

/**
 * `drover export`'s records: one per issue of the repository's task graph, in the shape
 * `drover import-jsonl` reads (`id`, `type`, `title`, `priority`, `epic_id`/`story_id`, `blocked_by`, `state`,
 * and `drover: false` on a leaf issue Drover never had as a task), so an export imported into another
 * repository makes the same graph, closed where it was closed, and starts only the open Drover tasks; and
 * beside it what happened (`history`: who created, steered and completed the task, attempts with verdicts
 * and checks, hints, commands, events), which the import accepts and sets aside. Portable: ids are `owner/name#N`, times
 * ISO 8601; no database ids, no paths of the machine Drover ran on, no secrets. Pure.
 */

export type ExportRecord = {
  id: string;
  type: BacklogKind;
  title: string;
  priority?: string;
  epic_id?: string;
  story_id?: string;
  blocked_by?: string[];
  state: BacklogState;
  /** false on a leaf issue Drover has no task for: imported without the Drover label, never started. */
  drover?: false;
  history: ExportHistory;
};

export type ExportHistory = {
  /** Blockers in other repositories (or not mirrored): kept for the record, not imported as links. */
  blocked_by_elsewhere?: string[];
  task?: Record<string, unknown>;
  events?: { type: string; actor: string | null; attempt: number | null; at: string }[];
};

export type ExportDocument = {
  repository: string;
  exported_at: string;
  items: ExportRecord[];
};

/**
 * The records, parents before their children; `problems` lists what would keep the import from reading
 * them as a graph (GitHub allows sub-issues deeper than epic → story → task; the format does not).
 */
export function exportRecords(rows: ExportRows): { records: ExportRecord[]; problems: string[] } {
  const repo = rows.repoFullName;
  const idOf = (number: number) => `${repo}#${number}`;
  const prefix = `${repo.toLowerCase()}#`;
  const numberOfKey = (key: string): number | null =>
    key.startsWith(prefix) && /^\d+$/.test(key.slice(prefix.length))
      ? Number(key.slice(prefix.length))
      : null;
  const present = new Set(rows.issues.map((issue) => issue.number));
  const parentOf = new Map<number, number>();
  for (const issue of rows.issues) {
    const parent = issue.parentKey === null ? null : numberOfKey(issue.parentKey);
    if (parent !== null && present.has(parent)) parentOf.set(issue.number, parent);
  }
  const hasChildren = new Set(parentOf.values());
  const kindOf = (number: number): BacklogKind =>
    !hasChildren.has(number) ? "task" : parentOf.has(number) ? "story" : "epic";
  const tasks = new Map(rows.tasks.map((task) => [task.issueNumber, task]));
  const eventsOf = groupBy(rows.events, (event) => event.issue);

  const records: ExportRecord[] = [];
  for (const issue of [...rows.issues].sort((a, b) => a.number - b.number)) {
    const key = issueKey(repo, issue.number);
    const blockers = rows.edges.filter((edge) => edge.dependent === key).map((edge) => edge.blocker);
    const inside = blockers.map(numberOfKey).filter((n): n is number => n !== null && present.has(n));
    const elsewhere = blockers.filter((blocker) => {
      const number = numberOfKey(blocker);
      return number === null || !present.has(number);
    });
    const kind = kindOf(issue.number);
    const parent = parentOf.get(issue.number);
    const priority = priorityOfLabels(issue.labels);
    const task = tasks.get(issue.number);
    const events = eventsOf.get(issue.number) ?? [];
    records.push({
      id: idOf(issue.number),
      type: kind,
      title: issue.title,
      ...(priority === null ? {} : { priority }),
      ...(parent === undefined
        ? {}
        : kindOf(parent) === "story"
          ? { story_id: idOf(parent) }
          : { epic_id: idOf(parent) }),
      ...(inside.length === 0 ? {} : { blocked_by: inside.sort((a, b) => a - b).map(idOf) }),
      state: issue.state === "open" ? "open" : issue.closedAs === "not_planned" ? "not_planned" : "closed",
      // A leaf is a task by its place in the tree; it was Drover's only if Drover had a task for it.
      ...(kind === "task" && !task ? { drover: false as const } : {}),
      history: {
        ...(elsewhere.length === 0 ? {} : { blocked_by_elsewhere: elsewhere }),
        ...(task ? { task: taskHistory(task) } : {}),
        ...(events.length === 0 ? {} : { events: events.map(eventHistory) }),
      },
    });
  }
  return { records: parentsFirst(records), problems: graphProblems(records) };
}

/** JSON Lines: one record a line, as `drover import-jsonl` reads them. */
export function exportJsonl(records: readonly ExportRecord[]): string {
  return records.map((record) => `${JSON.stringify(record)}\n`).join("");
}

/** One JSON document: the repository, when, and the records. */
export function exportJson(repoFullName: string, records: readonly ExportRecord[], at: Date): string {
  const document: ExportDocument = {
    repository: repoFullName,
    exported_at: at.toISOString(),
    items: [...records],
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

/**
 * The priority the labels name (`priority: high`, or `P0`–`P3`), as the import reads it; null when none.
 * The scheduler's reading: the most urgent of several wins.
 */
export function priorityOfLabels(labels: readonly string[]): PriorityName | null {
  return labels.some(isPriorityLabel) ? (PRIORITIES[priorityFromLabels(labels)] ?? null) : null;
}

function taskHistory(task: ExportTask): Record<string, unknown> {
  return {
    state: task.state,
    state_reason: task.stateReason,
    created_by: task.createdBy,
    modified_by: task.modifiedBy,
    completed_by: task.completedBy,
    approved_by: task.approvedBy,
    pull_request: task.prNumber,
    created_at: task.createdAt.toISOString(),
    done_at: task.doneAt?.toISOString() ?? null,
    attempts: task.attempts.map(attemptHistory),
    hints: task.hints.map((hint) => ({
      kind: hint.kind,
      author: hint.author,
      body: hint.body,
      ...(hint.path === null ? {} : { path: hint.path, line: hint.line }),
      at: hint.at.toISOString(),
    })),
    commands: task.commands.map((command) => ({
      command: command.command,
      author: command.author,
      outcome: command.outcome,
      at: command.at.toISOString(),
    })),
  };
}

function attemptHistory(attempt: ExportAttempt): Record<string, unknown> {
  return {
    number: attempt.number,
    state: attempt.state,
    triggered_by: attempt.triggeredBy,
    started_at: attempt.startedAt?.toISOString() ?? null,
    finished_at: attempt.finishedAt?.toISOString() ?? null,
    conclusion: attempt.conclusion,
    reason: attempt.reason,
    verdict: attempt.verdict,
    checks: attempt.checks,
    agent: attempt.agent,
    agent_outcome: attempt.agentOutcome,
    duration_ms: attempt.durationMs,
    cost_usd: attempt.costUsd,
    turns: attempt.turns,
    diff_stat: attempt.diffStat,
    head_sha: attempt.headSha,
  };
}

function eventHistory(event: ExportEvent) {
  return { type: event.type, actor: event.actor, attempt: event.attempt, at: event.at.toISOString() };
}

/** Epics, then stories, then tasks, each in issue order: a reader sees a parent before its children. */
function parentsFirst(records: ExportRecord[]): ExportRecord[] {
  const rank: Record<BacklogKind, number> = { epic: 0, story: 1, task: 2 };
  return [...records].sort((a, b) => rank[a.type] - rank[b.type]);
}

/** What the import's graph check would refuse in these records. */
function graphProblems(records: readonly ExportRecord[]): string[] {
  const items: BacklogItem[] = records.map((record) => ({
    id: record.id,
    kind: record.type,
    title: record.title,
    description: "",
    priority: null,
    parent: record.story_id ?? record.epic_id ?? null,
    blockedBy: record.blocked_by ?? [],
    line: null,
    state: record.state,
    ...(record.drover === false ? { drover: false } : {}),
  }));
  return checkBacklog(items).map((problem) => problem.problem);
}
