import { PRIORITIES, type PriorityName } from "./commands.ts";
import { cyclicComponents } from "./scc.ts";

/**
 * A planned backlog: epics, stories and tasks with their parents and "blocked by" edges, before any of it is
 * a GitHub issue. One model for what `drover import-jsonl` reads, what `drover export` writes and what
 * `/drover plan` proposes, so the three check a graph by the same rules. Pure.
 */

export const BACKLOG_KINDS = ["epic", "story", "task"] as const;
export type BacklogKind = (typeof BACKLOG_KINDS)[number];

/** Where an item stands on GitHub, as `drover export` writes it: closed is closed as completed. */
export const BACKLOG_STATES = ["open", "closed", "not_planned"] as const;
export type BacklogState = (typeof BACKLOG_STATES)[number];

export type BacklogItem = {
  /** The source's own id (`TASK-001`); kept on the issue in a hidden marker, so a rerun finds it. */
  id: string;
  kind: BacklogKind;
  title: string;
  description: string;
  /** 1–10, higher is more urgent; null when the source gave none (the label is then left off). */
  priority: number | null;
  /** The id of the epic (for a story) or the story or epic (for a task) it belongs to, if any. */
  parent: string | null;
  /** Ids of the items that must be done first. */
  blockedBy: string[];
  /** Where it came from, for errors: a JSONL line number, or null (a plan's proposal). */
  line: number | null;
  /** Its issue is made in this state (closed ones with their reason) and only an open one is started. ["open"] */
  state?: BacklogState;
  /**
   * false: a task that is a plain issue of the graph (a blocker filed by hand, say), not Drover's: it gets no
   * Drover label and is never started. [true]
   */
  drover?: boolean;
};

/** Whether the item is a task Drover should run now: an open task labelled for Drover. */
export function isOpenDroverTask(item: BacklogItem): boolean {
  return item.kind === "task" && item.drover !== false && (item.state ?? "open") === "open";
}

/** Named priorities of the earlier orchestrator's format, as the number each stands for. */
export const NAMED_PRIORITY: Record<PriorityName, number> = { critical: 10, high: 7, normal: 5, low: 2 };

/** A priority as written (1–10, or critical/high/normal/low), or why it is not one. */
export function readPriority(
  value: unknown,
): { ok: true; priority: number | null } | { ok: false; problem: string } {
  if (value === undefined || value === null) return { ok: true, priority: null };
  if (typeof value === "string") {
    const named = NAMED_PRIORITY[value.trim().toLowerCase() as PriorityName];
    if (named !== undefined) return { ok: true, priority: named };
    return {
      ok: false,
      problem: `priority "${value}" is not one of ${PRIORITIES.join(", ")} or a number 1–10`,
    };
  }
  if (typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= 10)
    return { ok: true, priority: value };
  return {
    ok: false,
    problem: `priority ${JSON.stringify(value)} must be a whole number 1–10 or a name (${PRIORITIES.join(", ")})`,
  };
}

/**
 * The priority label Drover's scheduler reads (`priority: high`, src/graph/order.ts) for a 1–10 priority:
 * each number goes to the nearest named one (10 critical, 7 high, 5 normal, 2 low).
 */
export function priorityLevel(priority: number): PriorityName {
  if (priority >= 9) return "critical";
  if (priority >= 6) return "high";
  if (priority >= 4) return "normal";
  return "low";
}

/** What is wrong with a backlog as a graph: one entry per problem, naming the item (and its line). */
export type BacklogProblem = { id: string; line: number | null; problem: string };

/**
 * The graph rules every backlog meets before anything is created: ids unique; parents exist and are of a
 * kind that can hold the item (an epic holds stories and tasks, a story holds tasks; an epic has no
 * parent); blockers exist and are not the item itself; no cycle through "blocked by" edges. Each cycle is
 * one problem naming its members in order (`TASK-1 → TASK-2 → TASK-1`).
 */
export function checkBacklog(items: readonly BacklogItem[]): BacklogProblem[] {
  const problems: BacklogProblem[] = [];
  const byId = new Map<string, BacklogItem>();
  for (const item of items) {
    const first = byId.get(item.id);
    if (first) {
      problems.push({
        id: item.id,
        line: item.line,
        problem: `id ${item.id} is used twice${first.line === null ? "" : ` (first on line ${first.line})`}`,
      });
      continue;
    }
    byId.set(item.id, item);
  }
  for (const item of byId.values()) {
    const say = (problem: string) => problems.push({ id: item.id, line: item.line, problem });
    if (item.parent !== null) {
      const parent = byId.get(item.parent);
      if (item.kind === "epic") say(`epic ${item.id} cannot belong to ${item.parent}: epics have no parent`);
      else if (!parent) say(`${item.id} belongs to ${item.parent}, which is not in the backlog`);
      else if (parent.kind === "task" || (item.kind === "story" && parent.kind !== "epic"))
        say(`${item.kind} ${item.id} cannot belong to ${parent.kind} ${parent.id}`);
    }
    for (const blocker of item.blockedBy) {
      if (blocker === item.id) say(`${item.id} is blocked by itself`);
      else if (!byId.has(blocker)) say(`${item.id} is blocked by ${blocker}, which is not in the backlog`);
    }
  }
  const successors = (id: string) => (byId.get(id)?.blockedBy ?? []).filter((b) => b !== id && byId.has(b));
  for (const component of cyclicComponents(byId.keys(), successors, (id) => byId.has(id))) {
    if (component.length < 2) continue;
    const path = cycleOrder(component, successors);
    // Named on the line of the member the cycle is written from, so the line and the text agree.
    const first = byId.get(path[0]!)!;
    problems.push({ id: first.id, line: first.line, problem: `cycle: ${path.join(" → ")}` });
  }
  return problems;
}

/** A shortest cycle through the component's first id (by name), in edge order: `A → B → A`. */
function cycleOrder(component: string[], successors: (id: string) => string[]): string[] {
  const members = new Set(component);
  const start = [...component].sort()[0]!;
  const cameFrom = new Map<string, string>();
  const queue = [start];
  let last: string | undefined;
  while (queue.length > 0 && last === undefined) {
    const at = queue.shift()!;
    for (const next of successors(at)) {
      if (!members.has(next)) continue;
      if (next === start) {
        last = at;
        break;
      }
      if (cameFrom.has(next)) continue;
      cameFrom.set(next, at);
      queue.push(next);
    }
  }
  const path = [start];
  for (let at = last; at !== undefined && at !== start; at = cameFrom.get(at)) path.splice(1, 0, at);
  return [...path, start];
}

/** Items in an order where every parent and every blocker comes before the items that need it. */
export function creationOrder(items: readonly BacklogItem[]): BacklogItem[] {
  const byId = new Map(items.map((item) => [item.id, item]));
  const placed = new Set<string>();
  const order: BacklogItem[] = [];
  const visiting = new Set<string>();
  const place = (item: BacklogItem) => {
    if (placed.has(item.id) || visiting.has(item.id)) return;
    visiting.add(item.id);
    for (const before of [item.parent, ...item.blockedBy]) {
      const needed = before === null ? undefined : byId.get(before);
      if (needed) place(needed);
    }
    visiting.delete(item.id);
    placed.add(item.id);
    order.push(item);
  };
  for (const item of items) place(item);
  return order;
}
