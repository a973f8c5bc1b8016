import { EVENT_TYPES, type DroverEvent, type EventFilter } from "../db/events.ts";

/** What a request to the events API asks for, read from its query and headers. */
export type EventQuery = {
  filter: Omit<EventFilter, "visible">;
  /** Events after this seq; null: none of the past (live only). */
  afterSeq: number | null;
  /** Keep the response open for live events after the history. */
  follow: boolean;
  format: "ndjson" | "sse";
};

const FAMILIES = [...new Set(EVENT_TYPES.map((type) => type.split(".")[0] as string))];
const REPO = /^[\w.-]+\/[\w.-]+$/;
const SEQ = /^\d{1,15}$/;

/**
 * Reads `type` (comma-separated: `task.failed`, a short `failed` for `task.failed`, or a family `pr`),
 * `repo` (repeatable or comma-separated), `story` (`owner/name#N`, or `N` with one `repo`), `since` (an ISO
 * time: history from then), `after` or the `Last-Event-ID` header (a seq: resume after it), `follow`
 * (`0`: end after the history) and `format` (`sse`, or the Accept header's `text/event-stream`).
 * An error says which parameter was wrong and what it takes.
 */
export function parseEventQuery(
  url: URL,
  headers: { accept?: string; lastEventId?: string },
): EventQuery | { error: string } {
  const types: string[] = [];
  for (const raw of listParam(url, "type")) {
    const type = normaliseType(raw);
    if (!type)
      return {
        error: `type: unknown event type "${raw}"; use one of ${EVENT_TYPES.join(", ")}, a short name (failed) or a family (${FAMILIES.join(", ")})`,
      };
    types.push(type);
  }
  const repos = listParam(url, "repo");
  for (const repo of repos)
    if (!REPO.test(repo)) return { error: `repo: "${repo}" is not a repository; use owner/name` };
  let story: string | undefined;
  const storyParam = url.searchParams.get("story");
  if (storyParam) {
    if (/^\d+$/.test(storyParam)) {
      if (repos.length !== 1)
        return { error: "story: a story number needs exactly one repo (or use owner/name#N)" };
      story = `${repos[0]}#${storyParam}`;
    } else if (/^[\w.-]+\/[\w.-]+#\d+$/.test(storyParam)) story = storyParam;
    else return { error: `story: "${storyParam}" is not a story; use owner/name#N, or N with repo` };
  }
  let since: Date | undefined;
  const sinceParam = url.searchParams.get("since");
  if (sinceParam) {
    since = new Date(sinceParam);
    if (Number.isNaN(since.getTime()))
      return { error: `since: "${sinceParam}" is not a time; use ISO 8601, e.g. 2026-12-06T09:00:00Z` };
  }
  const cursor = headers.lastEventId ?? url.searchParams.get("after") ?? undefined;
  if (cursor !== undefined && !SEQ.test(cursor.trim()))
    return { error: `after: "${cursor}" is not an event id; use the id (seq) of the last event you saw` };
  const followParam = url.searchParams.get("follow");
  if (followParam !== null && !["0", "1", "true", "false"].includes(followParam))
    return { error: `follow: "${followParam}" must be 1 or 0` };
  const follow = followParam === null || followParam === "1" || followParam === "true";
  const formatParam = url.searchParams.get("format");
  if (formatParam !== null && formatParam !== "sse" && formatParam !== "ndjson")
    return { error: `format: "${formatParam}" must be sse or ndjson` };
  const format =
    formatParam === "sse" || (formatParam === null && (headers.accept ?? "").includes("text/event-stream"))
      ? "sse"
      : "ndjson";
  const filter: EventQuery["filter"] = {
    ...(types.length > 0 ? { types } : {}),
    ...(repos.length > 0 ? { repos } : {}),
    ...(story ? { story } : {}),
    ...(since ? { since } : {}),
  };
  // With no cursor and no start time, a follower wants what happens from now; a one-off read wants all.
  const afterSeq = cursor !== undefined ? Number(cursor.trim()) : since || !follow ? 0 : null;
  return { filter, afterSeq, follow, format };
}

/** `failed` → `task.failed`; `pr` (a family) and full names stay; anything else is unknown (undefined). */
export function normaliseType(raw: string): string | undefined {
  const type = raw.trim().toLowerCase();
  if ((EVENT_TYPES as readonly string[]).includes(type) || FAMILIES.includes(type)) return type;
  if ((EVENT_TYPES as readonly string[]).includes(`task.${type}`)) return `task.${type}`;
  return undefined;
}

function listParam(url: URL, name: string): string[] {
  return url.searchParams
    .getAll(name)
    .flatMap((value) => value.split(","))
    .map((value) => value.trim())
    .filter(Boolean);
}

/** One server-sent event: `id` is the seq, so a browser's EventSource resumes with Last-Event-ID. */
export function sseFrame(event: DroverEvent): string {
  return `id: ${event.seq}\ndata: ${JSON.stringify(event)}\n\n`;
}

export function ndjsonLine(event: DroverEvent): string {
  return `${JSON.stringify(event)}\n`;
}
