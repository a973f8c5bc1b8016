import { and, eq, isNull, lt, ne, not, sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { redispatchHeldBack } from "./requeues.ts";
import { deliveries } from "./schema.ts";

type DeliveryRow = typeof deliveries.$inferSelect;
/** A delivery as recorded, its body parsed: `payload` is exactly the JSON GitHub sent. */
export type Delivery = Omit<DeliveryRow, "body"> & { payload: unknown };
export type NewDelivery = Omit<typeof deliveries.$inferInsert, "body" | "issueNumber"> & {
  payload: unknown;
  /** The JSON text as received, stored as is (nothing in it can be refused); default the payload's JSON. */
  body?: string;
};

/** Records a delivery once; false when this delivery id was already recorded. */
export async function recordDelivery(db: Db, delivery: NewDelivery): Promise<boolean> {
  const { payload, body, ...row } = delivery;
  const rows = await db
    .insert(deliveries)
    .values({
      ...row,
      body: body ?? JSON.stringify(payload),
      issueNumber: row.event === "issues" ? issueNumberOf(payload) : null,
    })
    .onConflictDoNothing()
    .returning({ id: deliveries.id });
  return rows.length === 1;
}

/** The issue's number, where it fits the column (intake refuses events with any other). */
function issueNumberOf(payload: unknown): number | null {
  const number = (payload as { issue?: { number?: unknown } } | null)?.issue?.number;
  return typeof number === "number" && Number.isInteger(number) && number > 0 && number <= 2_147_483_647
    ? number
    : null;
}

export async function getDelivery(db: Db, id: string): Promise<Delivery | undefined> {
  const row = await db.query.deliveries.findFirst({ where: eq(deliveries.id, id) });
  return row && parsed(row);
}

/** The body was JSON when intake took it; a row that is not is corrupt, and says which. */
function parsed({ body, ...row }: DeliveryRow): Delivery {
  try {
    return { ...row, payload: JSON.parse(body) as unknown };
  } catch (error) {
    throw new Error(`delivery ${row.id}: the recorded body is not JSON`, { cause: error });
  }
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
 * good, or requeued lately: see `redispatchHeldBack`). Ids only: each body is read when its turn comes
 * (`getDelivery`), so a batch of large deliveries is never in memory at once.
 */
export async function unfinishedDeliveryIds(db: Db, receivedBefore: Date): Promise<string[]> {
  const rows = await db
    .select({ id: deliveries.id })
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
  return rows.map((row) => row.id);
}

/**
 * Whether an `issues.closed` (or `issues.unlabeled`) delivery for the issue is recorded and not yet
 * processed: close-task will finish or cancel its task (crediting whoever did it), so nothing else should.
 * `except` is the delivery the caller is applying itself: intake marks a delivery no job acts on processed
 * only after queueing its sync, which may run first and would otherwise wait for itself.
 */
export async function closeDeliveryPending(
  db: Db,
  repoFullName: string,
  issueNumber: number,
  /** The `issues` action: `closed`, or `unlabeled` (a person took the label off, close-task credits them). */
  action: "closed" | "unlabeled" = "closed",
  except?: string,
): Promise<boolean> {
  const [row] = await db
    .select({ id: deliveries.id })
    .from(deliveries)
    .where(
      and(
        eq(deliveries.event, "issues"),
        eq(deliveries.action, action),
        isNull(deliveries.processedAt),
        sql`lower(${deliveries.repoFullName}) = lower(${repoFullName})`,
        eq(deliveries.issueNumber, issueNumber),
        except === undefined ? undefined : ne(deliveries.id, except),
      ),
    )
    .limit(1);
  return row !== undefined;
}
