import { and, eq, isNull, lt, not, sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { redispatchHeldBack } from "./requeues.ts";
import { deliveries } from "./schema.ts";

export type Delivery = typeof deliveries.$inferSelect;
export type NewDelivery = typeof deliveries.$inferInsert;

/** Records a delivery once; false when this delivery id was already recorded. */
export async function recordDelivery(db: Db, delivery: NewDelivery): Promise<boolean> {
  const rows = await db
    .insert(deliveries)
    .values(delivery)
    .onConflictDoNothing()
    .returning({ id: deliveries.id });
  return rows.length === 1;
}

export async function getDelivery(db: Db, id: string): Promise<Delivery | undefined> {
  return db.query.deliveries.findFirst({ where: eq(deliveries.id, id) });
}

/** A transaction of `db`: the claim below runs inside the one making the state change. */
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];

/**
 * Claims delivery `id` for the state change being made in `tx`; false when it was claimed before (the
 * change was made by an earlier run of its job, or by a duplicate running at the same time).
 */
export async function claimDelivery(tx: Tx, id: string): Promise<boolean> {
  const rows = await tx
    .update(deliveries)
    .set({ appliedAt: sql`now()` })
    .where(and(eq(deliveries.id, id), isNull(deliveries.appliedAt)))
    .returning({ id: deliveries.id });
  return rows.length === 1;
}

export async function markDeliveryProcessed(db: Db, id: string, outcome: string): Promise<void> {
  await db.update(deliveries).set({ processedAt: new Date(), outcome }).where(eq(deliveries.id, id));
}

/** Its jobs are queued; `processed` too when no job will act on the delivery itself (graph syncs only). */
export async function markDeliveryDispatched(db: Db, id: string, processed: boolean): Promise<void> {
  const now = new Date();
  await db
    .update(deliveries)
    .set(processed ? { dispatchedAt: now, processedAt: now, outcome: "dispatched" } : { dispatchedAt: now })
    .where(eq(deliveries.id, id));
}

/**
 * Deliveries whose jobs may not be on the queue: never dispatched (Redis was down when they came), or
 * dispatched but not processed (Redis lost the jobs). Not those the watchdog holds back (failed for
 * good, or requeued lately: see `redispatchHeldBack`).
 */
export async function unfinishedDeliveries(db: Db, receivedBefore: Date): Promise<Delivery[]> {
  return db
    .select()
    .from(deliveries)
    .where(
      and(
        isNull(deliveries.processedAt),
        lt(deliveries.receivedAt, receivedBefore),
        not(redispatchHeldBack(deliveries.id)),
      ),
    )
    .orderBy(deliveries.receivedAt)
    .limit(500);
}

/**
 * Whether an `issues.closed` delivery for the issue is recorded and not yet processed: close-task will
 * finish its task (crediting whoever closed it), so nothing else should.
 */
export async function closeDeliveryPending(
  db: Db,
  repoFullName: string,
  issueNumber: number,
): Promise<boolean> {
  const [row] = await db
    .select({ id: deliveries.id })
    .from(deliveries)
    .where(
      and(
        eq(deliveries.event, "issues"),
        eq(deliveries.action, "closed"),
        isNull(deliveries.processedAt),
        sql`lower(${deliveries.repoFullName}) = lower(${repoFullName})`,
        sql`${deliveries.payload} -> 'issue' ->> 'number' = ${String(issueNumber)}`,
      ),
    )
    .limit(1);
  return row !== undefined;
}
