import { and, asc, desc, eq, gt, gte, inArray, sql, type SQL } from "drizzle-orm";
import type postgres from "postgres";
import type { Db } from "./client.ts";
import { events } from "./schema.ts";

/** The event types (src/lib/event-types.ts), here beside the events they name. */
export { EVENT_TYPES } from "../lib/event-types.ts";

/** One event as it is read: `seq` is its place in commit order (the stream's cursor). */
export type DroverEvent = {
  seq: number;
  type: string;
  at: string;
  repo: string | null;
  issue: number | null;
  story: string | null;
  attempt: number | null;
  actor: string | null;
  data: Record<string, unknown>;
};

/** Which events a reader wants. Every field narrows; none: every event. */
export type EventFilter = {
  /** Event types (`task.failed`), or a family (`task` is every `task.*`). */
  types?: readonly string[];
  /** Repositories, "owner/name" (any case). */
  repos?: readonly string[];
  /** A story's key, "owner/name#N": its sub-issues' events and its own. */
  story?: string;
  /** Only events at or after this time. */
  since?: Date;
  /** The repositories the reader may see ("owner/name"); undefined: all (an operator). */
  visible?: readonly string[];
};

/** Who caused what the transaction writes, and what to add to its events' data (read by the triggers). */
export type Cause = {
  by?: string | null;
  data?: Record<string, unknown>;
  /**
   * An event to write beside the move's own, when the move happens (`pr.merged` beside `task.completed`);
   * with a delivery, whenever the delivery is claimed (src/db/tasks.ts `transitionTask`).
   */
  also?: string;
};

/**
 * Names the person behind this transaction's changes for the events its triggers write (and `recordEvent`
 * when it names none). Local to the transaction: a pooled connection carries nothing to the next.
 */
export async function withCause(tx: Pick<Db, "execute">, cause: Cause | undefined): Promise<void> {
  if (!cause) return;
  await tx.execute(
    sql`select set_config('drover.actor', ${cause.by ?? ""}, true), set_config('drover.cause', ${JSON.stringify(cause.data ?? {})}, true)`,
  );
}

/** `cause.also`, when the move it came with happened (in the same transaction). */
export async function recordAlso(
  tx: Pick<Db, "insert">,
  taskId: number,
  cause: Cause | undefined,
): Promise<void> {
  if (cause?.also)
    await recordEvent(tx, { taskId, type: cause.also, actor: cause.by ?? null, data: cause.data ?? {} });
}

/** An event that is not a task's state change (those are written by a trigger). Repo, issue, story are the task's. */
export async function recordEvent(
  db: Pick<Db, "insert">,
  event: { taskId: number | null; type: string; actor?: string | null; data?: Record<string, unknown> },
): Promise<void> {
  await db
    .insert(events)
    .values({ taskId: event.taskId, type: event.type, actor: event.actor ?? null, data: event.data ?? {} });
}

function conditions(filter: EventFilter, afterSeq: number): SQL[] {
  const where: SQL[] = [gt(events.seq, afterSeq)];
  if (filter.types && filter.types.length > 0) {
    const exact = filter.types.filter((type) => type.includes("."));
    const families = filter.types.filter((type) => !type.includes("."));
    const either: SQL[] = [];
    if (exact.length > 0) either.push(inArray(events.type, [...exact]));
    for (const family of families) either.push(sql`${events.type} like ${`${family}.%`}`);
    where.push(sql`(${sql.join(either, sql` or `)})`);
  }
  if (filter.repos && filter.repos.length > 0)
    where.push(
      inArray(
        sql`lower(${events.repo})`,
        filter.repos.map((repo) => repo.toLowerCase()),
      ),
    );
  if (filter.visible)
    where.push(
      filter.visible.length === 0
        ? sql`false`
        : inArray(
            sql`lower(${events.repo})`,
            filter.visible.map((repo) => repo.toLowerCase()),
          ),
    );
  if (filter.story) {
    const story = filter.story.toLowerCase();
    const [repo, number] = story.split("#");
    where.push(
      sql`(${events.story} = ${story} or (lower(${events.repo}) = ${repo ?? ""} and ${events.issue} = ${Number(number)}))`,
    );
  }
  if (filter.since) where.push(gte(events.at, filter.since));
  return where;
}

/** Events after `afterSeq` that match, oldest first, at most `limit`. */
export async function readEvents(
  db: Db,
  filter: EventFilter,
  afterSeq = 0,
  limit = 500,
): Promise<DroverEvent[]> {
  const rows = await db
    .select()
    .from(events)
    .where(and(...conditions(filter, afterSeq)))
    .orderBy(asc(events.seq))
    .limit(limit);
  return rows.map(toEvent);
}

/** The newest events that match, newest first, at most `limit`: a feed as a page opens. */
export async function newestEvents(db: Db, filter: EventFilter, limit = 40): Promise<DroverEvent[]> {
  const rows = await db
    .select()
    .from(events)
    .where(and(...conditions(filter, 0)))
    .orderBy(desc(events.seq))
    .limit(limit);
  return rows.map(toEvent);
}

/** Whether `event` passes `filter` (the same rules as `readEvents`, for events fanned out live). */
export function matchesFilter(event: DroverEvent, filter: EventFilter): boolean {
  const repo = event.repo?.toLowerCase() ?? null;
  if (filter.types && filter.types.length > 0) {
    const ok = filter.types.some((type) =>
      type.includes(".") ? event.type === type : event.type.startsWith(`${type}.`),
    );
    if (!ok) return false;
  }
  if (filter.repos && filter.repos.length > 0 && !filter.repos.some((r) => r.toLowerCase() === repo))
    return false;
  if (filter.visible && !filter.visible.some((r) => r.toLowerCase() === repo)) return false;
  if (filter.story) {
    const story = filter.story.toLowerCase();
    if (event.story !== story && `${repo}#${event.issue}` !== story) return false;
  }
  if (filter.since && new Date(event.at) < filter.since) return false;
  return true;
}

/** The newest committed event's seq (0 when there is none): a live reader that wants no history starts here. */
export async function latestSeq(db: Db): Promise<number> {
  const [row] = await db.select({ seq: sql<string | null>`max(${events.seq})` }).from(events);
  return Number(row?.seq ?? 0);
}

/** A task's events, oldest first (its page on the dashboard). */
export async function taskEvents(db: Db, taskId: number, limit = 500): Promise<DroverEvent[]> {
  const rows = await db
    .select()
    .from(events)
    .where(and(eq(events.taskId, taskId), sql`${events.seq} is not null`))
    .orderBy(asc(events.seq))
    .limit(limit);
  return rows.map(toEvent);
}

/** An `events` row as it is read (other readers of the table, src/db/notify.ts, share it). */
export function toEvent(row: typeof events.$inferSelect): DroverEvent {
  return {
    seq: row.seq ?? 0,
    type: row.type,
    at: row.at.toISOString(),
    repo: row.repo,
    issue: row.issue,
    story: row.story,
    attempt: row.attempt,
    actor: row.actor,
    data: (row.data ?? {}) as Record<string, unknown>,
  };
}

/** Listens on the `drover_events` channel: `onChange` after every commit that wrote events, and on reconnect. */
export async function listenForEvents(
  sqlClient: postgres.Sql,
  onChange: () => void,
): Promise<() => Promise<void>> {
  const { unlisten } = await sqlClient.listen("drover_events", () => onChange(), onChange);
  return unlisten;
}
