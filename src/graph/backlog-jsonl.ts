import {
  BACKLOG_KINDS,
  BACKLOG_STATES,
  checkBacklog,
  readPriority,
  type BacklogItem,
  type BacklogKind,
  type BacklogState,
} from "./backlog.ts";

/**
 * The earlier orchestrator's backlog format, JSON Lines: one epic, story or task a line, e.g.
 * `{"id": "TASK-001", "type": "task", "story_id": "STORY-001", "title": "...", "priority": 5,
 * "blocked_by": ["TASK-000"]}`. Blank lines are allowed. Pure: text in, items or every problem out.
 */

/** The keys a record may have; any other is refused, so a misspelt `blocked_by` is not silently dropped. */
export const JSONL_KEYS = [
  "id",
  "type",
  "title",
  "description",
  "priority",
  "epic_id",
  "story_id",
  "blocked_by",
  "state",
  "drover",
] as const;

/**
 * What `drover export` writes beside the graph (what happened to each task): accepted and set aside, so an
 * export imports into another repository as it is.
 */
export const EXPORT_ONLY_KEYS = ["history"] as const;

const MAX_ID_LENGTH = 200;

/**
 * What GitHub refuses, checked here so an import does not stop half-way on it: a title of more than 256
 * characters, a body of more than 65,536 (the marker needs some), more than 50 "blocked by" links on an
 * issue, more than 100 sub-issues under one parent.
 */
export const GITHUB_LIMITS = { title: 256, description: 65_000, blockedBy: 50, subIssues: 100 } as const;

export type JsonlRead = { ok: true; items: BacklogItem[] } | { ok: false; problems: string[] };

/**
 * Every line read, then the graph checked (dangling references, bad parents, duplicates, cycles). All
 * problems come back at once, each as `line N: what is wrong`, so one pass fixes the file.
 */
export function readBacklogJsonl(text: string): JsonlRead {
  const items: BacklogItem[] = [];
  const problems: string[] = [];
  const badIds = new Set<string>();
  let unreadableId = false;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === "") return;
    const read = readRecord(raw, line);
    if (read.ok) {
      items.push(read.item);
      return;
    }
    problems.push(...read.problems.map((problem) => `line ${line}: ${problem}`));
    if (read.id === null) unreadableId = true;
    else badIds.add(read.id);
  });
  if (items.length === 0 && problems.length === 0) problems.push("the file has no records");
  problems.push(...crowdedParents(items));
  // The graph is judged on the lines that read well. A reference to a bad line's id is not missing, only
  // unreadable; while a bad line's id cannot be read at all, any missing reference may be to it.
  const maybeMissing = (problem: string) =>
    unreadableId || [...badIds].some((id) => problem.endsWith(` ${id}, which is not in the backlog`));
  for (const found of checkBacklog(items)) {
    if (found.problem.endsWith("which is not in the backlog") && maybeMissing(found.problem)) continue;
    problems.push(found.line === null ? found.problem : `line ${found.line}: ${found.problem}`);
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, items };
}

/** A bad record says its id when it has a readable one, so references to it are not called missing. */
type RecordRead = { ok: true; item: BacklogItem } | { ok: false; problems: string[]; id: string | null };

/** One line: a JSON object with the keys above, or the reasons it is not one. */
export function readRecord(raw: string, line: number): RecordRead {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    return { ok: false, problems: [`not valid JSON (${(error as Error).message})`], id: null };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return { ok: false, problems: ["a record must be a JSON object ({...})"], id: null };
  const record = value as Record<string, unknown>;
  const problems: string[] = [];
  const known = new Set<string>([...JSONL_KEYS, ...EXPORT_ONLY_KEYS]);
  const unknown = Object.keys(record).filter((key) => !known.has(key));
  if (unknown.length > 0)
    problems.push(
      `unknown key${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `"${k}"`).join(", ")} ` +
        `(known: ${JSONL_KEYS.join(", ")})`,
    );

  const id = text(record, "id", problems, { required: true });
  if (id !== null && id.length > MAX_ID_LENGTH)
    problems.push(`id is longer than ${MAX_ID_LENGTH} characters`);
  const title = text(record, "title", problems, { required: true });
  const description = text(record, "description", problems, { required: false }) ?? "";
  if (title !== null && title.length > GITHUB_LIMITS.title)
    problems.push(`title is ${title.length} characters; GitHub takes at most ${GITHUB_LIMITS.title}`);
  if (description.length > GITHUB_LIMITS.description)
    problems.push(
      `description is ${description.length} characters; an issue body takes at most ${GITHUB_LIMITS.description} here`,
    );
  const kind = kindOf(record.type, problems);
  const priority = readPriority(record.priority);
  if (!priority.ok) problems.push(priority.problem);
  const parent = kind === null ? null : parentOf(record, kind, problems);
  const blockedBy = blockersOf(record.blocked_by, problems);
  const state = stateOf(record.state, problems);
  const drover = kind === null ? undefined : droverOf(record.drover, kind, problems);

  if (problems.length > 0 || id === null || title === null || kind === null || !priority.ok)
    return { ok: false, problems, id };
  return {
    ok: true,
    item: {
      id,
      kind,
      title,
      description,
      priority: priority.priority,
      parent,
      blockedBy,
      line,
      ...(state === undefined ? {} : { state }),
      ...(drover === false ? { drover } : {}),
    },
  };
}

/** `state`: the issue is made open (the default), closed as completed, or closed as not planned. */
function stateOf(value: unknown, problems: string[]): BacklogState | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string" && (BACKLOG_STATES as readonly string[]).includes(value))
    return value as BacklogState;
  problems.push(`state ${JSON.stringify(value)} is not one of ${BACKLOG_STATES.join(", ")}`);
  return undefined;
}

/** `drover: false` keeps a task a plain issue: no Drover label, never started. Epics and stories never are. */
function droverOf(value: unknown, kind: BacklogKind, problems: string[]): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") {
    problems.push(`"drover" must be true or false, not ${JSON.stringify(value)}`);
    return undefined;
  }
  if (kind !== "task") {
    problems.push(`"drover" is for tasks: a ${kind} is never labelled for Drover`);
    return undefined;
  }
  return value;
}

/** A string field: trimmed, non-empty when required, or a problem saying what it must be. */
function text(
  record: Record<string, unknown>,
  key: string,
  problems: string[],
  { required }: { required: boolean },
): string | null {
  const value = record[key];
  if (value === undefined || value === null) {
    if (required) problems.push(`missing "${key}"`);
    return null;
  }
  if (typeof value !== "string") {
    problems.push(`"${key}" must be a string, not ${JSON.stringify(value)}`);
    return null;
  }
  const trimmed = key === "description" ? value : value.trim();
  if (required && trimmed === "") {
    problems.push(`"${key}" is empty`);
    return null;
  }
  return trimmed;
}

function kindOf(value: unknown, problems: string[]): BacklogKind | null {
  if (value === undefined || value === null) {
    problems.push(`missing "type" (one of ${BACKLOG_KINDS.join(", ")})`);
    return null;
  }
  const kind = typeof value === "string" ? value.trim().toLowerCase() : value;
  if (!(BACKLOG_KINDS as readonly unknown[]).includes(kind)) {
    problems.push(`unknown type ${JSON.stringify(value)} (one of ${BACKLOG_KINDS.join(", ")})`);
    return null;
  }
  return kind as BacklogKind;
}

/**
 * Where the item belongs: a story in an epic (`epic_id`), a task in a story (`story_id`) or straight in an
 * epic (`epic_id`); an epic belongs nowhere. Whether the named item exists is the graph check's to say.
 */
function parentOf(record: Record<string, unknown>, kind: BacklogKind, problems: string[]): string | null {
  const epic = text(record, "epic_id", problems, { required: false });
  const story = text(record, "story_id", problems, { required: false });
  if (kind === "epic") {
    if (epic !== null || story !== null) problems.push("an epic belongs to nothing: drop epic_id/story_id");
    return null;
  }
  if (kind === "story") {
    if (story !== null) problems.push("a story belongs to an epic: use epic_id, not story_id");
    return epic || null;
  }
  if (epic && story) problems.push("a task belongs to one parent: give story_id or epic_id, not both");
  return story || epic || null;
}

function blockersOf(value: unknown, problems: string[]): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((id) => typeof id !== "string" || id.trim() === "")) {
    problems.push(`"blocked_by" must be a list of ids, e.g. ["TASK-001"], not ${JSON.stringify(value)}`);
    return [];
  }
  const ids = [...new Set((value as string[]).map((id) => id.trim()))];
  if (ids.length > GITHUB_LIMITS.blockedBy)
    problems.push(
      `blocked by ${ids.length} items; GitHub links an issue to at most ${GITHUB_LIMITS.blockedBy} blockers`,
    );
  return ids;
}

/** Parents with more sub-issues than GitHub allows under one issue, named on the parent's line. */
function crowdedParents(items: readonly BacklogItem[]): string[] {
  const children = new Map<string, number>();
  for (const item of items)
    if (item.parent !== null) children.set(item.parent, (children.get(item.parent) ?? 0) + 1);
  return items.flatMap((item) => {
    const count = children.get(item.id) ?? 0;
    return count > GITHUB_LIMITS.subIssues
      ? [
          `line ${item.line}: ${item.id} has ${count} sub-items; GitHub allows at most ${GITHUB_LIMITS.subIssues} under one issue`,
        ]
      : [];
  });
}
