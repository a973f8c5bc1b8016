import { and, desc, eq, isNull, or, sql, type AnyColumn, type SQL } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "./client.ts";
import { attempts, deadLetters, deliveries, repositories, tasks } from "./schema.ts";

/** What the job wrapper records when a job fails for good. */
export type NewDeadLetter = {
  jobId: string;
  jobName: string;
  /** The job's payload (ids only). */
  payload: Record<string, unknown>;
  deliveryId: string | null;
  reason: string;
  /** Tries the queue made this time. */
  attempts: number;
};

/** Long enough for any error Drover words; a longer one (a driver quoting a payload) is cut. */
const MAX_REASON = 2_000;

/**
 * Parks a job that failed for good. A job parked before (retried, then failed again) keeps its first
 * failure time and counts one more failure and its tries; it is parked again until the next retry.
 */
export async function recordDeadLetter(db: Db, letter: NewDeadLetter): Promise<void> {
  // A NUL quoted from a payload is made storable by the client (src/db/storable.ts).
  const reason = letter.reason.slice(0, MAX_REASON);
  await db
    .insert(deadLetters)
    .values({ ...letter, reason })
    .onConflictDoUpdate({
      target: deadLetters.jobId,
      set: {
        reason,
        payload: letter.payload,
        deliveryId: letter.deliveryId,
        attempts: sql`${deadLetters.attempts} + ${letter.attempts}`,
        failures: sql`${deadLetters.failures} + 1`,
        lastFailedAt: sql`now()`,
        retriedAt: null,
      },
    });
}

/** A dead letter as `drover status` shows it, with the repository and issue it concerns when known. */
export type DeadLetter = NewDeadLetter & {
  /** Tries the queue made, over every time it failed for good. */
  attempts: number;
  failures: number;
  firstFailedAt: Date;
  lastFailedAt: Date;
  repoFullName: string | null;
  issueNumber: number | null;
};

const Payload = z.record(z.string(), z.unknown());

/** An integer field of a dead letter's payload, as SQL (null when it is not an integer). */
function payloadInt(field: string): SQL {
  return sql`case when jsonb_typeof(${deadLetters.payload} -> ${field}) = 'number'
    then (${deadLetters.payload} ->> ${field})::bigint end`;
}

/**
 * Parked dead letters (not retried since they last failed), newest first: all, those of one delivery or
 * one job, or those of one repository (plus those that name none).
 */
export async function parkedDeadLetters(
  db: Db,
  filter: { deliveryId?: string; jobId?: string; repoFullName?: string } = {},
): Promise<DeadLetter[]> {
  const repo = sql<
    string | null
  >`coalesce(${deliveries.repoFullName}, ${deadLetters.payload} ->> 'repoFullName', ${repositories.fullName})`;
  const rows = await db
    .select({
      jobId: deadLetters.jobId,
      jobName: deadLetters.jobName,
      payload: deadLetters.payload,
      deliveryId: deadLetters.deliveryId,
      reason: deadLetters.reason,
      attempts: deadLetters.attempts,
      failures: deadLetters.failures,
      firstFailedAt: deadLetters.firstFailedAt,
      lastFailedAt: deadLetters.lastFailedAt,
      repoFullName: repo,
      issueNumber: sql<number | null>`coalesce(${tasks.issueNumber}, ${payloadInt("number")})`,
    })
    .from(deadLetters)
    .leftJoin(deliveries, eq(deliveries.id, deadLetters.deliveryId))
    .leftJoin(attempts, sql`${attempts.id} = ${payloadInt("attemptId")}`)
    .leftJoin(tasks, sql`${tasks.id} = coalesce(${attempts.taskId}, ${payloadInt("taskId")})`)
    .leftJoin(repositories, eq(repositories.id, tasks.repoId))
    .where(
      and(
        isNull(deadLetters.retriedAt),
        filter.deliveryId === undefined ? undefined : eq(deadLetters.deliveryId, filter.deliveryId),
        filter.jobId === undefined ? undefined : eq(deadLetters.jobId, filter.jobId),
        filter.repoFullName === undefined
          ? undefined
          : or(sql`${repo} is null`, sql`lower(${repo}) = lower(${filter.repoFullName})`),
      ),
    )
    .orderBy(desc(deadLetters.lastFailedAt))
    .limit(1000);
  return rows.map((row) => ({
    ...row,
    payload: Payload.parse(row.payload),
    issueNumber: row.issueNumber === null ? null : Number(row.issueNumber),
  }));
}

/** Unparks a dead letter for `drover retry`, if it is still parked (two retries at once queue it once). */
export async function markRetried(db: Db, jobId: string): Promise<boolean> {
  const rows = await db
    .update(deadLetters)
    .set({ retriedAt: sql`now()` })
    .where(and(eq(deadLetters.jobId, jobId), isNull(deadLetters.retriedAt)))
    .returning({ jobId: deadLetters.jobId });
  return rows.length === 1;
}

/** Parks it again: the retry could not queue it. */
export async function unmarkRetried(db: Db, jobId: string): Promise<void> {
  await db.update(deadLetters).set({ retriedAt: null }).where(eq(deadLetters.jobId, jobId));
}

/** SQL: delivery `id` has a parked dead letter (one of its jobs failed for good). */
export function deliveryParked(id: AnyColumn): SQL {
  return sql`exists (select 1 from ${deadLetters} where ${deadLetters.deliveryId} = ${id} and ${deadLetters.retriedAt} is null)`;
}

/** SQL: a `jobName` job of attempt `attemptId` is parked. */
export function attemptJobParked(jobName: "run-task" | "publish", attemptId: AnyColumn): SQL {
  return sql`exists (select 1 from ${deadLetters} where ${deadLetters.jobName} = ${jobName}
    and ${deadLetters.payload} ->> 'attemptId' = ${attemptId}::text and ${deadLetters.retriedAt} is null)`;
}
