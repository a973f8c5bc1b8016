import { and, eq, inArray, isNull, lt, not, or, sql, type SQL } from "drizzle-orm";
import type { z } from "zod";
import {
  AgentOutcomeSchema,
  readAttempt,
  readJson,
  type Attempt,
  type AttemptOutcome,
} from "./attempt-record.ts";
import type { Db } from "./client.ts";
import { attemptJobParked } from "./dead-letters.ts";
import { recordEvent, withCause, type Cause } from "./events.ts";
import { attempts, steps, tasks, type TaskState } from "./schema.ts";
import type { Task } from "./tasks.ts";
import { assertTransition } from "./transition.ts";

export type Lease = { attemptId: number; epoch: number };

export async function getAttempt(db: Db, id: number): Promise<Attempt | undefined> {
  const row = await db.query.attempts.findFirst({ where: eq(attempts.id, id) });
  return row && readAttempt(row);
}

/** How long a lease holds without renewal; a worker renews it every third of this while it runs. */
export const LEASE_MS = 15_000;

/** How long a worker's leases last: DROVER_LEASE_MS when set, else LEASE_MS. */
export function leaseMsOf(env: { DROVER_LEASE_MS?: number | undefined }): number {
  return env.DROVER_LEASE_MS ?? LEASE_MS;
}

export type Claim =
  | { kind: "claimed"; attempt: Attempt; task: Task; lease: Lease }
  /** Another worker holds a live lease (it is running the agent now); retry after `retryInMs`. */
  | { kind: "busy"; retryInMs: number }
  /**
   * Taken over (its worker died or handed it back) after a person stopped its task (cancelled, paused,
   * restarted, closed): the lease is this worker's, the task stays where the person put it, and the
   * attempt is to be concluded as stopped.
   */
  | { kind: "stopped"; attempt: Attempt; task: Task; lease: Lease }
  /** Queued, but its task moved on before it ran: abandoned now, so the task's next attempt may queue. */
  | { kind: "abandoned" }
  /** Finished or abandoned before: nothing to do. */
  | { kind: "gone" };

/**
 * Takes the lease on a queued attempt, or on a running one whose lease lapsed (its worker crashed or
 * lost its connection): bumps the epoch so any earlier holder is fenced off, sets the lease's expiry,
 * counts a lease its holder did not hand back as lost, and moves the task to `running`. A running
 * attempt with a live lease is left to its holder, so a job delivered twice never runs the agent twice
 * at once.
 */
export async function claimAttempt(
  db: Db,
  attemptId: number,
  owner: string,
  leaseMs: number = LEASE_MS,
): Promise<Claim> {
  return db.transaction(async (tx) => {
    const [attempt] = await tx
      .update(attempts)
      .set({
        state: "running",
        leaseEpoch: sql`${attempts.leaseEpoch} + 1`,
        leaseOwner: owner,
        // A running attempt whose lease still has an owner was not handed back: its worker was lost.
        lostLeases: sql`${attempts.lostLeases} + (case when ${attempts.state} = 'running' and ${attempts.leaseOwner} is not null then 1 else 0 end)`,
        leaseExpiresAt: sql`now() + ${`${leaseMs} milliseconds`}::interval`,
        startedAt: sql`coalesce(${attempts.startedAt}, now())`,
      })
      .where(
        and(
          eq(attempts.id, attemptId),
          or(
            eq(attempts.state, "queued"),
            and(
              eq(attempts.state, "running"),
              or(isNull(attempts.leaseExpiresAt), lt(attempts.leaseExpiresAt, sql`now()`)),
            ),
          ),
        ),
      )
      .returning();
    if (!attempt) {
      const [held] = await tx
        .select({
          state: attempts.state,
          remainingMs: sql<number>`greatest(0, extract(epoch from (${attempts.leaseExpiresAt} - now())) * 1000)::int`,
        })
        .from(attempts)
        .where(eq(attempts.id, attemptId));
      return held?.state === "running"
        ? { kind: "busy", retryInMs: held.remainingMs + 250 }
        : { kind: "gone" };
    }
    // task.started (the trigger's event) names who asked for this attempt.
    await withCause(tx, { by: attempt.triggeredBy, data: { attempt: attempt.number } });
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
      const lease = { attemptId, epoch: attempt.leaseEpoch };
      // It ran before (epoch 1 was its first worker's): what it did must be concluded, not dropped.
      if (attempt.leaseEpoch > 1) {
        const stoppedTask = await tx.query.tasks.findFirst({ where: eq(tasks.id, attempt.taskId) });
        if (stoppedTask) return { kind: "stopped", attempt: readAttempt(attempt), task: stoppedTask, lease };
      }
      await tx
        .update(attempts)
        .set({ state: "abandoned", finishedAt: sql`now()` })
        .where(eq(attempts.id, attemptId));
      return { kind: "abandoned" };
    }
    return {
      kind: "claimed",
      attempt: readAttempt(attempt),
      task,
      lease: { attemptId, epoch: attempt.leaseEpoch },
    };
  });
}

/** Extends a lease this worker still holds; false once it is lost (taken over, finished, or the task moved on). */
export async function renewLease(db: Db, lease: Lease, leaseMs: number = LEASE_MS): Promise<boolean> {
  const rows = await db
    .update(attempts)
    .set({ leaseExpiresAt: sql`now() + ${`${leaseMs} milliseconds`}::interval` })
    .where(runningUnder(lease))
    .returning({ id: attempts.id });
  return rows.length === 1;
}

/** While an attempt runs: whether its task still wants it (see `watchAttempt`). */
export type AttemptWatch =
  | { kind: "running" }
  /** Another worker took the attempt over, or it finished: this worker's lease is gone. */
  | { kind: "lost" }
  /**
   * A person stopped the task (cancelled, paused, restarted, closed its issue or pull request, took the
   * label off): it is no longer running this attempt. `reason` and `by` are what the stop recorded.
   */
  | { kind: "stopped"; state: TaskState; reason: string | null; by: string | null };

/**
 * One cheap read, made every second while the agent runs: is the attempt still under `lease`, and its
 * task still running it? Kept apart from `renewLease` so a stop is seen in a second, not in five.
 */
export async function watchAttempt(db: Db, lease: Lease): Promise<AttemptWatch> {
  const [row] = await db
    .select({
      state: attempts.state,
      epoch: attempts.leaseEpoch,
      number: attempts.number,
      taskState: tasks.state,
      attemptCount: tasks.attemptCount,
      reason: tasks.stateReason,
      modifiedBy: tasks.modifiedBy,
      completedBy: tasks.completedBy,
    })
    .from(attempts)
    .innerJoin(tasks, eq(tasks.id, attempts.taskId))
    .where(eq(attempts.id, lease.attemptId));
  if (!row || row.state !== "running" || row.epoch !== lease.epoch) return { kind: "lost" };
  if (row.taskState === "running" && row.attemptCount === row.number) return { kind: "running" };
  return stopOf({ ...row, state: row.taskState, stateReason: row.reason });
}

/** What a person's stop left on the task: the state they put it in, why, and who they were. */
export function stopOf(
  task: Pick<Task, "state" | "stateReason" | "modifiedBy" | "completedBy">,
): Extract<AttemptWatch, { kind: "stopped" }> {
  return {
    kind: "stopped",
    state: task.state,
    reason: task.stateReason,
    // Closing the issue or merging credits the closer as `completedBy`; every other stop as `modifiedBy`.
    by: task.state === "done" ? (task.completedBy ?? task.modifiedBy) : task.modifiedBy,
  };
}

/**
 * Ends an attempt a person stopped: records its outcome (`finished`), only while `lease` holds, and
 * leaves its task where the person's command put it. False when another worker took the attempt over.
 */
export async function concludeStopped(db: Db, lease: Lease, outcome: AttemptOutcome): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [attempt] = await tx
      .update(attempts)
      .set({ ...outcome, state: "finished", finishedAt: sql`now()` })
      .where(runningUnder(lease))
      .returning({ taskId: attempts.taskId, number: attempts.number });
    if (!attempt) return false;
    await recordEvent(tx, {
      taskId: attempt.taskId,
      type: "attempt.stopped",
      data: { attempt: attempt.number, reason: outcome.reason ?? null, headSha: outcome.headSha ?? null },
    });
    return true;
  });
}

/**
 * Gives the lease up at once, leaving the attempt running (its worker is shutting down, or its job
 * failed and will be retried): the job's retry, or the next watchdog pass, takes it over without
 * waiting for the lease to run out, and does not count it as lost. False when it was not held.
 */
export async function lapseLease(db: Db, lease: Lease, reason = "shutdown"): Promise<boolean> {
  const rows = await db
    .update(attempts)
    .set({ leaseExpiresAt: sql`now()`, leaseOwner: null })
    .where(runningUnder(lease))
    .returning({ id: attempts.id, taskId: attempts.taskId });
  if (rows[0]) {
    await recordEvent(db, {
      taskId: rows[0].taskId,
      type: "task.interrupted",
      data: { reason, attemptId: lease.attemptId, epoch: lease.epoch },
    });
  }
  return rows.length === 1;
}

/**
 * Running attempts whose lease lapsed: their worker is gone, and their jobs may be gone too. Not those
 * whose run-task job failed for good (parked until `drover retry`).
 */
export async function lapsedAttempts(db: Db): Promise<Attempt[]> {
  const rows = await db
    .select()
    .from(attempts)
    .where(
      and(
        eq(attempts.state, "running"),
        lt(attempts.leaseExpiresAt, sql`now()`),
        not(attemptJobParked("run-task", attempts.id)),
      ),
    )
    .limit(1000);
  return rows.map(readAttempt);
}

/** The task's attempt numbered `number` (its latest is `task.attemptCount`). */
export async function getAttemptByNumber(
  db: Db,
  taskId: number,
  number: number,
): Promise<Attempt | undefined> {
  const row = await db.query.attempts.findFirst({
    where: and(eq(attempts.taskId, taskId), eq(attempts.number, number)),
  });
  return row && readAttempt(row);
}

/** The attempt of `lease`, while it runs under that lease (no other worker took it over). */
function runningUnder(lease: Lease): SQL | undefined {
  return and(
    eq(attempts.id, lease.attemptId),
    eq(attempts.leaseEpoch, lease.epoch),
    eq(attempts.state, "running"),
  );
}

/** Rows of attempts joined with tasks where `lease` is still the one allowed to write. */
function heldBy(lease: Lease): SQL | undefined {
  return and(runningUnder(lease), eq(tasks.state, "running"), eq(tasks.attemptCount, attempts.number));
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
    .where(heldBy(lease))
    .limit(1);
  return row !== undefined;
}

/** How a concluded attempt moves its task on: from the states it may be in, to the next, with why. */
export type TaskMove = {
  from: readonly TaskState[];
  to: TaskState;
  fields: Partial<typeof tasks.$inferInsert>;
  /** Added to the data of the event the move writes (src/db/events.ts). */
  cause: Cause;
};

/**
 * Records the attempt's outcome and moves its task on in one transaction, if the lease still holds:
 * a worker dying in between can leave neither a finished attempt under a task still `running` nor
 * the reverse. False when another worker took the attempt over (it concludes it).
 */
export async function concludeAttempt(
  db: Db,
  lease: Lease,
  outcome: AttemptOutcome,
  move: TaskMove,
): Promise<boolean> {
  for (const state of move.from) assertTransition(state, move.to);
  return db.transaction(async (tx) => {
    const [attempt] = await tx
      .update(attempts)
      .set({ ...outcome, state: "finished", finishedAt: sql`now()` })
      .where(runningUnder(lease))
      .returning({ taskId: attempts.taskId });
    if (!attempt) return false;
    await withCause(tx, move.cause);
    await tx
      .update(tasks)
      .set({ ...move.fields, state: move.to, updatedAt: sql`now()` })
      .where(and(eq(tasks.id, attempt.taskId), inArray(tasks.state, [...move.from])));
    return true;
  });
}

/**
 * Records a step only while `lease` is the attempt's current one and its task still runs this attempt
 * (the row is locked meanwhile, so no takeover slips in between). False when the lease is lost: a
 * worker that was paused past its lease writes nothing.
 */
export async function recordStepUnderLease(
  db: Db,
  lease: Lease,
  name: string,
  result: unknown,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [held] = await tx
      .select({ id: attempts.id })
      .from(attempts)
      .innerJoin(tasks, eq(tasks.id, attempts.taskId))
      .where(heldBy(lease))
      .for("update");
    if (!held) return false;
    await tx
      .insert(steps)
      .values({ attemptId: lease.attemptId, name, result })
      .onConflictDoUpdate({ target: [steps.attemptId, steps.name], set: { result, doneAt: sql`now()` } });
    return true;
  });
}

/** The step `publish` records last: the attempt is shown on GitHub. */
export const PUBLISHED = "published";

/**
 * Finished attempts not yet shown on GitHub some seconds after they finished: their publish job was lost
 * (Redis lost it, or the worker died between concluding and queueing it). The watchdog queues them again,
 * but not those whose publish job failed for good (parked until `drover retry`).
 */
export async function unpublishedAttempts(db: Db, olderThanMs = 10_000): Promise<{ id: number }[]> {
  return db
    .select({ id: attempts.id })
    .from(attempts)
    .where(
      and(
        eq(attempts.state, "finished"),
        lt(attempts.finishedAt, sql`now() - ${`${olderThanMs} milliseconds`}::interval`),
        sql`not exists (select 1 from ${steps} where ${steps.attemptId} = ${attempts.id} and ${steps.name} = ${PUBLISHED})`,
        not(attemptJobParked("publish", attempts.id)),
      ),
    )
    .orderBy(attempts.finishedAt)
    .limit(100);
}

/**
 * Attempts waiting for a worker: after Redis lost its jobs they are enqueued again (same job id). Not
 * those whose run-task job failed for good (parked until `drover retry`).
 */
export async function pendingAttempts(db: Db): Promise<Attempt[]> {
  const rows = await db
    .select()
    .from(attempts)
    .where(and(eq(attempts.state, "queued"), not(attemptJobParked("run-task", attempts.id))))
    .limit(1000);
  return rows.map(readAttempt);
}

/** The result recorded for the attempt's step `name`, read through `schema`; undefined when not done. */
export async function getStep<S extends z.ZodType>(
  db: Db,
  attemptId: number,
  name: string,
  schema: S,
): Promise<z.infer<S> | undefined> {
  const row = await db.query.steps.findFirst({
    where: and(eq(steps.attemptId, attemptId), eq(steps.name, name)),
  });
  return row && readJson(schema, row.result, `step "${name}" of attempt ${attemptId}`);
}

/** Whether the attempt's step `name` was done. */
export async function hasStep(db: Db, attemptId: number, name: string): Promise<boolean> {
  const [row] = await db
    .select({ name: steps.name })
    .from(steps)
    .where(and(eq(steps.attemptId, attemptId), eq(steps.name, name)));
  return row !== undefined;
}

export async function recordStep(db: Db, attemptId: number, name: string, result: unknown): Promise<void> {
  await db
    .insert(steps)
    .values({ attemptId, name, result })
    .onConflictDoUpdate({ target: [steps.attemptId, steps.name], set: { result, doneAt: sql`now()` } });
}

/** The task's finished attempts before `number`, oldest first: for failover and the budget. */
export async function earlierAttempts(
  db: Db,
  taskId: number,
  number: number,
): Promise<Pick<Attempt, "number" | "agent" | "agentOutcome" | "durationMs" | "costUsd">[]> {
  const rows = await db
    .select({
      number: attempts.number,
      agent: attempts.agent,
      agentOutcome: attempts.agentOutcome,
      durationMs: attempts.durationMs,
      costUsd: attempts.costUsd,
    })
    .from(attempts)
    .where(and(eq(attempts.taskId, taskId), lt(attempts.number, number), eq(attempts.state, "finished")))
    .orderBy(attempts.number);
  return rows.map((row) => ({
    ...row,
    agentOutcome: readJson(
      AgentOutcomeSchema.nullable(),
      row.agentOutcome,
      `the agent outcome recorded with attempt ${row.number} of task ${taskId}`,
    ),
  }));
}

/**
 * The task's attempts at its work, up to and including `number`: those that merged its base in (update,
 * conflict; bounded by `max_conflict_attempts` of their own) are not tries at the task, so they do not
 * spend `max_attempts`.
 */
export async function workAttemptsUpTo(db: Db, taskId: number, number: number): Promise<number> {
  const [row] = await db
    .select({ count: sql<number>`count(*)::int` })
    .from(attempts)
    .where(
      and(
        eq(attempts.taskId, taskId),
        sql`${attempts.number} <= ${number}`,
        sql`(${attempts.start} -> 'merge') is null`,
      ),
    );
  return row?.count ?? 0;
}
