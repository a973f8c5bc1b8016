import { and, asc, desc, eq, gt, inArray, lt, ne, or, sql } from "drizzle-orm";
import type { NotifyFormat } from "../config/notify.ts";
import type { Db } from "./client.ts";
import { toEvent, type DroverEvent } from "./events.ts";
import { eventCursors, events, notifyDeliveries, tasks } from "./schema.ts";

/** The cursor of the notify dispatcher in `event_cursors`. */
export const NOTIFY_CURSOR = "notify";

/** Held (for its transaction) by the worker dispatching events to targets: one at a time. */
const DISPATCH_LOCK = "drover:notify-dispatch";

/** A target an event is owed to, as the dispatcher decided. */
export type OwedTarget = { key: string; shown: string; format: NotifyFormat };

/** An event with its task's recorded drover.yml (unparsed; null for an event of no task). */
export type DispatchedEvent = DroverEvent & { taskConfig: unknown };

/**
 * One dispatch step, in one transaction under the dispatch lock: the events after the cursor (at most
 * `limit`), a delivery row for each target `targetsOf` names (one per target and event, whoever else
 * made it), and the cursor moved past them. Rows and cursor commit together, so an event is neither
 * skipped (cursor moved, rows lost) nor owed twice (rows made, cursor not moved). A first run starts at the
 * newest event: the history before notify existed is not sent. Returns the new rows' ids and whether
 * events are left; null when another worker holds the lock.
 */
export async function dispatchEvents(
  db: Db,
  targetsOf: (event: DispatchedEvent) => OwedTarget[],
  limit = 500,
): Promise<{ created: number[]; more: boolean } | null> {
  return db.transaction(async (tx) => {
    const [lock] = await tx.execute<{ locked: boolean }>(
      sql`select pg_try_advisory_xact_lock(hashtextextended(${DISPATCH_LOCK}, 0)) as locked`,
    );
    if (!lock?.locked) return null;
    await tx
      .insert(eventCursors)
      .values({ name: NOTIFY_CURSOR, seq: sql`coalesce((select max(${events.seq}) from ${events}), 0)` })
      .onConflictDoNothing();
    const [cursor] = await tx
      .select({ seq: eventCursors.seq })
      .from(eventCursors)
      .where(eq(eventCursors.name, NOTIFY_CURSOR));
    const after = cursor?.seq ?? 0;
    const rows = await tx
      .select({ event: events, taskConfig: tasks.config })
      .from(events)
      .leftJoin(tasks, eq(tasks.id, events.taskId))
      .where(gt(events.seq, after))
      .orderBy(asc(events.seq))
      .limit(limit);
    const last = rows.at(-1)?.event.seq;
    if (last === undefined || last === null) return { created: [], more: false };
    const owed = rows.flatMap(({ event, taskConfig }) =>
      targetsOf({ ...toEvent(event), taskConfig }).map((target) => ({
        targetKey: target.key,
        target: target.shown,
        format: target.format,
        eventSeq: event.seq ?? 0,
        repo: event.repo,
      })),
    );
    const created =
      owed.length === 0
        ? []
        : await tx
            .insert(notifyDeliveries)
            .values(owed)
            .onConflictDoNothing()
            .returning({ id: notifyDeliveries.id });
    await tx
      .update(eventCursors)
      .set({ seq: last, updatedAt: sql`now()` })
      .where(eq(eventCursors.name, NOTIFY_CURSOR));
    return { created: created.map((row) => row.id), more: rows.length === limit };
  });
}

/**
 * Pending deliveries not touched for `olderThanMs`: their job may have been lost (Redis emptied). Queuing
 * one again is harmless, since a job still queued under its id is not queued twice.
 */
export async function stalePendingDeliveries(db: Db, olderThanMs: number, limit = 500): Promise<number[]> {
  const rows = await db
    .select({ id: notifyDeliveries.id })
    .from(notifyDeliveries)
    .where(
      and(
        eq(notifyDeliveries.state, "pending"),
        lt(notifyDeliveries.updatedAt, sql`now() - make_interval(secs => ${olderThanMs / 1000})`),
      ),
    )
    .orderBy(asc(notifyDeliveries.id))
    .limit(limit);
  return rows.map((row) => row.id);
}

/**
 * A delivery as its job sends it: the row, its event, the event's task, and the task's recorded drover.yml.
 * No row holds a target's url (a Slack or Discord url is its own secret): the job finds it by `targetKey`
 * among DROVER_NOTIFY's targets and the task's.
 */
export type DeliveryToSend = {
  id: number;
  targetKey: string;
  format: NotifyFormat;
  state: "pending" | "delivered" | "failed";
  tries: number;
  event: DroverEvent;
  task: { title: string; state: string; prNumber: number | null } | null;
  taskConfig: unknown;
};

export async function deliveryToSend(db: Db, id: number): Promise<DeliveryToSend | null> {
  const [row] = await db
    .select({ delivery: notifyDeliveries, event: events, task: tasks })
    .from(notifyDeliveries)
    .innerJoin(events, eq(events.seq, notifyDeliveries.eventSeq))
    .leftJoin(tasks, eq(tasks.id, events.taskId))
    .where(eq(notifyDeliveries.id, id));
  if (!row) return null;
  return {
    id: row.delivery.id,
    targetKey: row.delivery.targetKey,
    format: row.delivery.format,
    state: row.delivery.state,
    tries: row.delivery.tries,
    event: toEvent(row.event),
    task: row.task ? { title: row.task.title, state: row.task.state, prNumber: row.task.prNumber } : null,
    taskConfig: row.task?.config ?? null,
  };
}

/** What one try came to. */
export type DeliveryOutcome =
  | { kind: "delivered"; status: number }
  | { kind: "failed"; status: number | null; error: string; final: boolean };

/**
 * Records one try. Guarded: a delivered row stays delivered (a second job for it, should one run, changes
 * nothing). A final failure marks it failed; any other leaves it pending for the job's next try.
 */
export async function recordTry(db: Db, id: number, outcome: DeliveryOutcome): Promise<void> {
  const common = { tries: sql`${notifyDeliveries.tries} + 1`, updatedAt: sql`now()` };
  const set =
    outcome.kind === "delivered"
      ? {
          ...common,
          state: "delivered" as const,
          lastStatus: outcome.status,
          lastError: null,
          deliveredAt: sql`now()`,
        }
      : {
          ...common,
          state: outcome.final ? ("failed" as const) : ("pending" as const),
          lastStatus: outcome.status,
          lastError: outcome.error.slice(0, MAX_ERROR),
        };
  await db
    .update(notifyDeliveries)
    .set(set)
    .where(and(eq(notifyDeliveries.id, id), ne(notifyDeliveries.state, "delivered")));
}

const MAX_ERROR = 300;

/**
 * A delivery that failed or is being retried, for the dashboard. `state` is `failed` (its tries are used
 * up) or `retrying` (it failed at least once and will be tried again).
 */
export type NotifyProblem = {
  id: number;
  /** The target as it may be shown (host and first path segment; see `shownTarget`). */
  target: string;
  format: NotifyFormat;
  eventType: string;
  eventSeq: number;
  repo: string | null;
  issue: number | null;
  state: "failed" | "retrying";
  tries: number;
  lastStatus: number | null;
  lastError: string | null;
  updatedAt: Date;
};

/**
 * Failed and retrying deliveries, newest first (at most `limit`): of `repos` ("owner/name", any case), or
 * of every repository when undefined (an operator). Deliveries of events with no repository are shown to
 * operators only.
 */
export async function notifyProblems(
  db: Db,
  repos: readonly string[] | undefined,
  limit = 100,
): Promise<NotifyProblem[]> {
  if (repos && repos.length === 0) return [];
  const rows = await db
    .select({ delivery: notifyDeliveries, type: events.type, issue: events.issue })
    .from(notifyDeliveries)
    .innerJoin(events, eq(events.seq, notifyDeliveries.eventSeq))
    .where(
      and(
        or(
          eq(notifyDeliveries.state, "failed"),
          and(eq(notifyDeliveries.state, "pending"), gt(notifyDeliveries.tries, 0)),
        ),
        repos
          ? inArray(
              sql`lower(${notifyDeliveries.repo})`,
              repos.map((repo) => repo.toLowerCase()),
            )
          : undefined,
      ),
    )
    .orderBy(desc(notifyDeliveries.updatedAt), desc(notifyDeliveries.id))
    .limit(limit);
  return rows.map(({ delivery, type, issue }) => ({
    id: delivery.id,
    target: delivery.target,
    format: delivery.format,
    eventType: type,
    eventSeq: delivery.eventSeq,
    repo: delivery.repo,
    issue,
    state: delivery.state === "failed" ? "failed" : "retrying",
    tries: delivery.tries,
    lastStatus: delivery.lastStatus,
    lastError: delivery.lastError,
    updatedAt: delivery.updatedAt,
  }));
}
