import { and, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { attempts, events, steps, tasks } from "./schema.ts";
import type { Task } from "./tasks.ts";

export type Attempt = typeof attempts.$inferSelect;
export type Lease = { attemptId: number; epoch: number };

export async function getAttempt(db: Db, id: number): Promise<Attempt | undefined> {
  return db.query.attempts.findFirst({ where: eq(attempts.id, id) });
}

/**
 * Takes the lease on a queued (or abandoned-by-a-crash running) attempt: bumps its epoch so any earlier
 * holder is fenced off, and moves the task to `running`. Undefined when the attempt is finished or the task
 * has moved on (cancelled, closed, superseded): the job has nothing to do.
 */
export async function claimAttempt(
  db: Db,
  attemptId: number,
  owner: string,
): Promise<{ attempt: Attempt; task: Task; lease: Lease } | undefined> {
  return db.transaction(async (tx) => {
    const [attempt] = await tx
      .update(attempts)
      .set({
        state: "running",
        leaseEpoch: sql`${attempts.leaseEpoch} + 1`,
        leaseOwner: owner,
        startedAt: sql`coalesce(${attempts.startedAt}, now())`,
      })
      .where(and(eq(attempts.id, attemptId), inArray(attempts.state, ["queued", "running"])))
      .returning();
    if (!attempt) return undefined;
    const [task] = await tx
      .update(tasks)
      .set({ state: "running", stateReason: null, updatedAt: sql`now()` })
      .where(
        and(
          eq(tasks.id, attempt.taskId),
          eq(tasks.attemptCount, attempt.number),
          inArray(tasks.state, ["queued", "running"]),
        ),
      )
      .returning();
    if (!task) {
      await tx
        .update(attempts)
        .set({ state: "abandoned", finishedAt: sql`now()` })
        .where(eq(attempts.id, attemptId));
      return undefined;
    }
    if (attempt.leaseEpoch === 1) {
      await tx.insert(events).values({
        taskId: task.id,
        type: "task.started",
        actor: attempt.triggeredBy,
        data: { attempt: attempt.number },
      });
    }
    return { attempt, task, lease: { attemptId, epoch: attempt.leaseEpoch } };
  });
}

/** The task's attempt numbered `number` (its latest is `task.attemptCount`). */
export async function getAttemptByNumber(
  db: Db,
  taskId: number,
  number: number,
): Promise<Attempt | undefined> {
  return db.query.attempts.findFirst({
    where: and(eq(attempts.taskId, taskId), eq(attempts.number, number)),
  });
}

/**
 * True while this lease is still the attempt's current one, the attempt is running, and its task is still
 * running this attempt (not closed, cancelled or restarted meanwhile): only then may the worker push.
 */
export async function leaseHeld(db: Db, lease: Lease): Promise<boolean> {
  const [row] = await db
    .select({ id: attempts.id })
    .from(attempts)
    .innerJoin(tasks, eq(tasks.id, attempts.taskId))
    .where(
      and(
        eq(attempts.id, lease.attemptId),
        eq(attempts.leaseEpoch, lease.epoch),
        eq(attempts.state, "running"),
        eq(tasks.state, "running"),
        eq(tasks.attemptCount, attempts.number),
      ),
    )
    .limit(1);
  return row !== undefined;
}

export type AttemptOutcome = Partial<
  Pick<
    Attempt,
    | "conclusion"
    | "verdict"
    | "reason"
    | "summary"
    | "logTail"
    | "baseSha"
    | "headSha"
    | "diffStat"
    | "durationMs"
    | "costUsd"
    | "turns"
  >
>;

/** Records the attempt's outcome if the lease still holds; false when another worker took it over. */
export async function finishAttempt(db: Db, lease: Lease, outcome: AttemptOutcome): Promise<boolean> {
  const rows = await db
    .update(attempts)
    .set({ ...outcome, state: "finished", finishedAt: sql`now()` })
    .where(
      and(
        eq(attempts.id, lease.attemptId),
        eq(attempts.leaseEpoch, lease.epoch),
        eq(attempts.state, "running"),
      ),
    )
    .returning({ id: attempts.id });
  return rows.length === 1;
}

/** Attempts waiting for a worker: after Redis lost its jobs they are enqueued again (same job id). */
export async function pendingAttempts(db: Db): Promise<Attempt[]> {
  return db.select().from(attempts).where(eq(attempts.state, "queued")).limit(1000);
}

export async function getStep<T>(db: Db, attemptId: number, name: string): Promise<T | undefined> {
  const row = await db.query.steps.findFirst({
    where: and(eq(steps.attemptId, attemptId), eq(steps.name, name)),
  });
  return row?.result as T | undefined;
}

export async function recordStep(db: Db, attemptId: number, name: string, result: unknown): Promise<void> {
  await db
    .insert(steps)
    .values({ attemptId, name, result })
    .onConflictDoUpdate({ target: [steps.attemptId, steps.name], set: { result, doneAt: sql`now()` } });
}

export async function recordEvent(
  db: Db,
  event: { taskId: number | null; type: string; actor?: string | null; data?: Record<string, unknown> },
): Promise<void> {
  await db
    .insert(events)
    .values({ taskId: event.taskId, type: event.type, actor: event.actor ?? null, data: event.data ?? {} });
}
