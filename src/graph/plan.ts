import { lastFencedBlock } from "../lib/markdown.ts";
import { BACKLOG_KINDS, checkBacklog, readPriority, type BacklogItem, type BacklogKind } from "./backlog.ts";

/**
 * A planning agent's proposal: the fenced `drover-plan` JSON block it ends with, read strictly into
 * backlog items and checked as a graph (src/graph/backlog.ts). Pure. Every problem is named, with the
 * item it is about, so the comment on the issue says what the agent got wrong.
 */

export const PLAN_FENCE = "drover-plan";
/** More items than this is not a plan a person reads before accepting it. */
export const MAX_PLAN_ITEMS = 100;
const MAX_TITLE = 200;
const MAX_DESCRIPTION = 300;
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/;
const FIELDS = ["id", "kind", "title", "description", "priority", "parent", "blocked_by"] as const;
/** At most this many problems are listed: the rest are counted. */
const MAX_LISTED = 20;

export type ParsedPlan = { ok: true; items: BacklogItem[] } | { ok: false; problems: string[] };

/** The last `drover-plan` block of `text` (agents often quote the instructions' example before answering). */
export function parsePlan(text: string): ParsedPlan {
  const body = lastFencedBlock(text, PLAN_FENCE);
  if (body === null) return fail([`no \`\`\`${PLAN_FENCE} block found in the agent's output`]);
  if (body.trim() === "") return fail([`the ${PLAN_FENCE} block is empty`]);
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    return fail([`the ${PLAN_FENCE} block is not valid JSON: ${(error as Error).message}`]);
  }
  if (!Array.isArray(json)) return fail([`the ${PLAN_FENCE} block must hold a JSON array of items`]);
  if (json.length === 0) return fail([`the ${PLAN_FENCE} block holds no items`]);
  if (json.length > MAX_PLAN_ITEMS)
    return fail([`the plan has ${json.length} items; Drover takes up to ${MAX_PLAN_ITEMS}`]);

  const problems: string[] = [];
  const items: BacklogItem[] = [];
  for (const [index, raw] of json.entries()) {
    const read = readItem(raw, index + 1);
    if (read.ok) items.push(read.item);
    else problems.push(...read.problems);
  }
  if (problems.length > 0) return fail(problems);
  const graph = checkBacklog(items).map(({ problem }) => problem);
  return graph.length > 0 ? fail(graph) : { ok: true, items };
}

function fail(problems: string[]): ParsedPlan {
  const listed = problems.slice(0, MAX_LISTED);
  if (problems.length > MAX_LISTED) listed.push(`and ${problems.length - MAX_LISTED} more`);
  return { ok: false, problems: listed };
}

type ReadItem = { ok: true; item: BacklogItem } | { ok: false; problems: string[] };

function readItem(raw: unknown, position: number): ReadItem {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    return { ok: false, problems: [`item ${position} is not a JSON object`] };
  const record = raw as Record<string, unknown>;
  const id = record.id;
  const name = typeof id === "string" && id !== "" ? `item ${position} (${clip(id)})` : `item ${position}`;
  const problems: string[] = [];
  const say = (problem: string) => problems.push(`${name}: ${problem}`);

  const unknown = Object.keys(record).filter((key) => !(FIELDS as readonly string[]).includes(key));
  if (unknown.length > 0)
    say(`unknown field${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `"${clip(k)}"`).join(", ")}`);
  if (typeof id !== "string" || !ID.test(id))
    say(`id must be 1–40 letters, digits, ".", "_" or "-" (got ${shown(id)})`);
  if (!(BACKLOG_KINDS as readonly unknown[]).includes(record.kind))
    say(`kind must be one of ${BACKLOG_KINDS.join(", ")} (got ${shown(record.kind)})`);
  const title = typeof record.title === "string" ? oneLine(record.title) : "";
  if (title === "") say("title must be a non-empty string");
  else if (title.length > MAX_TITLE) say(`title is ${title.length} characters; up to ${MAX_TITLE}`);
  const description = record.description === undefined ? "" : record.description;
  if (typeof description !== "string") say(`description must be a string (got ${shown(description)})`);
  else if (oneLine(description).length > MAX_DESCRIPTION)
    say(`description is ${oneLine(description).length} characters; one line of up to ${MAX_DESCRIPTION}`);
  const priority = readPriority(record.priority);
  if (!priority.ok) say(priority.problem);
  const parent = record.parent ?? null;
  if (parent !== null && typeof parent !== "string")
    say(`parent must be an id or null (got ${shown(parent)})`);
  const blockedBy = record.blocked_by ?? [];
  if (!Array.isArray(blockedBy) || !blockedBy.every((b) => typeof b === "string"))
    say(`blocked_by must be a list of ids (got ${shown(blockedBy)})`);

  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    item: {
      id: id as string,
      kind: record.kind as BacklogKind,
      title,
      description: oneLine(description as string),
      priority: priority.ok ? priority.priority : null,
      parent: parent as string | null,
      blockedBy: [...new Set(blockedBy as string[])],
      line: null,
    },
  };
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

function shown(value: unknown): string {
  if (value === undefined) return "nothing";
  return clip(JSON.stringify(value) ?? String(value));
}

function clip(text: string): string {
  const one = text.replace(/\s+/g, " ").replaceAll("`", "'");
  return one.length > 60 ? `${one.slice(0, 57)}...` : one;
}

/**
 * The prefix of the source ids a proposal's items carry on the issues they become: unique per spec issue
 * and proposal, so accepting twice finds what the first accept made, and a later proposal's `T1` is not
 * an earlier one's.
 */
export function proposalPrefix(issueNumber: number, version: number): string {
  return `spec${issueNumber}v${version}-`;
}

/**
 * The plan's items under source ids (`prefix` + the agent's id, parents and blockers alike), ready to be
 * created: `/drover plan accept` and `drover spec` each name theirs so a rerun finds what was made.
 */
export function withIdPrefix(items: readonly BacklogItem[], prefix: string): BacklogItem[] {
  const sourceId = (id: string) => `${prefix}${id}`;
  return items.map((item) => ({
    ...item,
    id: sourceId(item.id),
    parent: item.parent === null ? null : sourceId(item.parent),
    blockedBy: item.blockedBy.map(sourceId),
  }));
}

/**
 * The plan as `drover import-jsonl` reads it (src/graph/backlog-jsonl.ts), one record a line, ids as they
 * are: importing it finds what was created from the same items, and creates the rest. Pure.
 */
export function planJsonl(items: readonly BacklogItem[]): string {
  const kindOf = new Map(items.map((item) => [item.id, item.kind]));
  return items
    .map((item) => {
      const parentKey =
        item.parent === null ? null : kindOf.get(item.parent) === "story" ? "story_id" : "epic_id";
      return JSON.stringify({
        id: item.id,
        type: item.kind,
        title: item.title,
        description: item.description,
        ...(item.priority === null ? {} : { priority: item.priority }),
        ...(parentKey === null ? {} : { [parentKey]: item.parent }),
        blocked_by: item.blockedBy,
      });
    })
    .map((line) => `${line}\n`)
    .join("");
}
