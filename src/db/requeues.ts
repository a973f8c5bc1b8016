import { and, inArray, isNull, lt, sql, type AnyColumn, type SQL } from "drizzle-orm";
import type { Db } from "./client.ts";
import { deliveryParked } from "./dead-letters.ts";
import { deliveries, requeues } from "./schema.ts";

/**
 * How the watchdog's requeues of one item back off: the first is made at once, the next waits `firstMs`
 * (one watchdog pass), each later one twice as long as the one before, at most `maxMs`. Work the queue
 * still holds is not held up by this (its job id makes a requeue a no-op); what Redis lost waits at
 * most `maxMs`, which keeps recovery from a flushed Redis within the minute Drover promises (README,
 * "Crashes and restarts") while a stuck item costs one requeue a minute, not six.
 */
export const REQUEUE_BACKOFF = { firstMs: 10_000, maxMs: 60_000 } as const;

/** The `next_at` of an item requeued once more: SQL over its count after this requeue. */
function nextAt(count: SQL): SQL {
  const { firstMs, maxMs } = REQUEUE_BACKOFF;
  return sql`now() + least(${maxMs}, ${firstMs} * power(2, least(${count} - 1, 30)))
    * interval '1 millisecond'`;
}

const upsert = {
  target: requeues.key,
  set: {
    count: sql`${requeues.count} + 1`,
    lastAt: sql`now()`,
    nextAt: nextAt(sql`(${requeues.count} + 1)`),
  },
  // Only an item whose wait is over: two watchdogs in the same pass count it once.
  setWhere: sql`${requeues.nextAt} <= now()`,
};

/**
 * Of the items `keys` (job ids), those due to be requeued now, each counted as requeued once more; the
 * others are still waiting out their backoff.
 */
export async function claimRequeues(db: Db, keys: readonly string[]): Promise<Set<string>> {
  const unique = [...new Set(keys)];
  if (unique.length === 0) return new Set();
  const rows = await db
    .insert(requeues)
    .values(unique.map((key) => ({ key, count: 1, nextAt: nextAt(sql`1`) })))
    .onConflictDoUpdate(upsert)
    .returning({ key: requeues.key });
  return new Set(rows.map((row) => row.key));
}

/** A delivery's requeues are keyed by its id under this prefix (a job's by its job id). */
const DELIVERY = "delivery-";
const deliveryKey = (id: AnyColumn) => sql`${DELIVERY} || ${id}`;

/**
 * Counts a requeue of each delivery dispatched since `since` (the start of this watchdog pass) and not
 * yet processed: the redispatch of intake that the watchdog ran.
 */
export async function backOffRedispatched(db: Db, since: Date): Promise<void> {
  await db
    .insert(requeues)
    .select(
      db
        .select({
          key: sql<string>`${deliveryKey(deliveries.id)}`.as("key"),
          count: sql<number>`1`.as("count"),
          lastAt: sql<Date>`now()`.as("last_at"),
          nextAt: sql<Date>`${nextAt(sql`1`)}`.as("next_at"),
        })
        .from(deliveries)
        .where(
          and(isNull(deliveries.processedAt), sql`${deliveries.dispatchedAt} >= ${since.toISOString()}`),
        ),
    )
    .onConflictDoUpdate(upsert);
}

/**
 * SQL: the watchdog leaves delivery `id` alone for now: one of its jobs failed for good (it waits for
 * `drover retry`), or it was requeued lately and waits out its backoff.
 */
export function redispatchHeldBack(id: AnyColumn): SQL {
  return sql`(${deliveryParked(id)} or exists (select 1 from ${requeues}
    where ${requeues.key} = ${deliveryKey(id)} and ${requeues.nextAt} > now()))`;
}

/** Forgets the backoff of items (a retried dead letter's): the watchdog treats them as new. */
export async function forgetRequeues(db: Db, keys: readonly string[]): Promise<void> {
  if (keys.length > 0) await db.delete(requeues).where(inArray(requeues.key, [...keys]));
}

/** The requeue key of a delivery, for `forgetRequeues`. */
export const deliveryRequeueKey = (deliveryId: string) => `${DELIVERY}${deliveryId}`;

/**
 * Drops the backoff of items not requeued for a day: their work is done, since one still due is
 * requeued at least every `REQUEUE_BACKOFF.maxMs`.
 */
export async function pruneRequeues(db: Db): Promise<void> {
  await db.delete(requeues).where(lt(requeues.lastAt, sql`now() - interval '1 day'`));
}
