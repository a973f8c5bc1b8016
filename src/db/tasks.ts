import { and, desc, eq, inArray, lte, sql } from "drizzle-orm";
import { AgentVerdict } from "./run-results.ts";
import type { DroverConfig } from "../config/schema.ts";
import { taskConfigOrDefaults } from "../config/stored.ts";
import type { Db } from "./client.ts";
import type { AttemptStart } from "./attempt-start.ts";
import { claimDelivery, type Tx } from "./deliveries.ts";
import { recordAlso, withCause, type Cause } from "./events.ts";
import { attempts, repositories, tasks, type TaskState } from "./schema.ts";
import { ACTIVE, TRIGGERABLE } from "../graph/transitions.ts";
import { assertTransition } from "./transition.ts";

export type Task = typeof tasks.$inferSelect;
export type TaskFields = Partial<Omit<typeof tasks.$inferInsert, "id" | "repoId" | "issueNumber">>;

export async function getTask(db: Db, id: number): Promise<Task | undefined> {
  return db.query.tasks.findFirst({ where: eq(tasks.id, id) });
}

export async function findTask(db: Db, repoId: number, issueNumber: number): Promise<Task | undefined> {
  return db.query.tasks.findFirst({
    where: and(eq(tasks.repoId, repoId), eq(tasks.issueNumber, issueNumber)),
  });
}

export async function findTaskByPullRequest(
  db: Db,
  repoId: number,
  pr: { number: number; headRef: string },
): Promise<Task | undefined> {
  return db.query.tasks.findFirst({
    where: and(
      eq(tasks.repoId, repoId),
      sql`(${tasks.prNumber} = ${pr.number} or ${tasks.branch} = ${pr.headRef})`,
    ),
  });
}

/** The task for an issue, by repository name (as GitHub spells it, any case) and number. */
export async function findTaskByKey(
  db: Db,
  repoFullName: string,
  issueNumber: number,
): Promise<Task | undefined> {
  const [row] = await db
    .select({ task: tasks })
    .from(tasks)
    .innerJoin(repositories, eq(repositories.id, tasks.repoId))
    .where(
      and(sql`lower(${repositories.fullName}) = lower(${repoFullName})`, eq(tasks.issueNumber, issueNumber)),
    );
  return row?.task;
}

/** What a task that was just (re)started says about itself until the scheduler has looked at it. */
export function triggerReason(restart: boolean, login: string): string {
  return `${restart ? "restarted" : "started"} by @${login}`;
}

export type TriggerResult =
  /** The delivery asking for it was applied before (by an earlier run of its job): nothing changed. */
  | { kind: "applied-before" }
  | { kind: "created"; task: Task }
  | { kind: "restarted"; task: Task; previous: TaskState }
  | { kind: "already-active"; task: Task };

/**
 * A person asked for the issue to be worked on. A new task starts `ready`; a task that finished, failed
 * or was cancelled starts over; a task already in progress is left alone.
 */
export async function triggerTask(
  db: Db,
  input: {
    repoId: number;
    issueNumber: number;
    title: string;
    createdBy: string;
    createdById: number | null;
    triggeredBy: string;
    branch: string;
    config: unknown;
    /** The webhook delivery asking for it: claimed in the same transaction, so it triggers once. */
    deliveryId?: string;
    /**
     * Another claim made in the same transaction (a `/drover run` command's run record): false when it was
     * made before, and nothing changes.
     */
    claim?: (tx: Tx) => Promise<boolean>;
    /** What asked for it, for the next attempt's start: the label (default), `/drover run`, a story. */
    cause?: "label" | "run" | "story";
  },
): Promise<TriggerResult> {
  return db.transaction(async (tx) => {
    if (input.deliveryId !== undefined && !(await claimDelivery(tx, input.deliveryId)))
      return { kind: "applied-before" };
    if (input.claim && !(await input.claim(tx))) return { kind: "applied-before" };
    await withCause(tx, { by: input.triggeredBy });
    const [inserted] = await tx
      .insert(tasks)
      .values({
        repoId: input.repoId,
        issueNumber: input.issueNumber,
        title: input.title,
        state: "ready",
        stateReason: triggerReason(false, input.triggeredBy),
        createdBy: input.createdBy,
        createdById: input.createdById,
        modifiedBy: input.triggeredBy,
        branch: input.branch,
        config: input.config,
      })
      .onConflictDoNothing()
      .returning();
    if (inserted) return { kind: "created", task: inserted };
    const existing = await tx.query.tasks.findFirst({
      where: and(eq(tasks.repoId, input.repoId), eq(tasks.issueNumber, input.issueNumber)),
    });
    if (!existing) throw new Error(`task for issue #${input.issueNumber} vanished during trigger`);
    if (ACTIVE.includes(existing.state)) return { kind: "already-active", task: existing };
    assertTransition(existing.state, "ready");
    // A task in review (or waiting in conflict) has a pull request someone may be reading: the new attempt
    // goes on from its head (new commits on the same PR) instead of force-pushing the branch from the base.
    const nextStart: AttemptStart | null =
      existing.state === "review" || existing.state === "conflict"
        ? { from: "branch", cause: input.cause ?? "label", by: input.triggeredBy }
        : null;
    const [restarted] = await tx
      .update(tasks)
      .set({
        state: "ready",
        stateReason: triggerReason(true, input.triggeredBy),
        title: input.title,
        modifiedBy: input.triggeredBy,
        config: input.config,
        completedBy: null,
        doneAt: null,
        nextStart,
        resolution: null,
        updatedAt: sql`now()`,
      })
      .where(and(eq(tasks.id, existing.id), inArray(tasks.state, [...TRIGGERABLE])))
      .returning();
    if (!restarted) return { kind: "already-active", task: existing };
    return { kind: "restarted", task: restarted, previous: existing.state };
  });
}

/**
 * Moves a task to `to` only if it is still in one of `from`; returns the updated row, or undefined when
 * another actor moved it first (or the delivery was claimed before).
 */
export async function transitionTask(
  db: Db,
  id: number,
  from: readonly TaskState[],
  to: TaskState,
  fields: TaskFields = {},
  /** Who moved it, and what to add to the move's event (src/db/events.ts). */
  cause?: Cause,
  /** The webhook delivery asking for it: claimed in the same transaction; nothing moves if it was before. */
  deliveryId?: string,
): Promise<Task | undefined> {
  for (const state of from) assertTransition(state, to);
  return db.transaction(async (tx) => {
    if (deliveryId !== undefined && !(await claimDelivery(tx, deliveryId))) return undefined;
    await withCause(tx, cause);
    const [row] = await tx
      .update(tasks)
      .set({ ...fields, state: to, updatedAt: sql`now()` })
      .where(and(eq(tasks.id, id), inArray(tasks.state, [...from])))
      .returning();
    // `cause.also` (a merge beside the completion it makes) is the delivery's own event: written once the
    // delivery is claimed even when the task had moved already (the merge's issue close finished it first).
    if (row || deliveryId !== undefined) await recordAlso(tx, id, cause);
    return row;
  });
}

export async function updateTask(db: Db, id: number, fields: TaskFields): Promise<void> {
  await db
    .update(tasks)
    .set({ ...fields, updatedAt: sql`now()` })
    .where(eq(tasks.id, id));
}

export type QueuedAttempt = { taskId: number; attemptId: number; attemptNumber: number };

/**
 * Moves the chosen ready tasks to `queued`, each with a new attempt row. A task that is no longer ready
 * (closed, cancelled meanwhile) is skipped.
 */
export async function queueTasks(db: Db, taskIds: readonly number[]): Promise<QueuedAttempt[]> {
  const queued: QueuedAttempt[] = [];
  for (const taskId of taskIds) {
    const attempt = await db.transaction(async (tx) => {
      const [before] = await tx
        .select({ nextStart: tasks.nextStart })
        .from(tasks)
        .where(eq(tasks.id, taskId))
        .for("update");
      const [task] = await tx
        .update(tasks)
        .set({
          state: "queued",
          attemptCount: sql`${tasks.attemptCount} + 1`,
          nextStart: null,
          updatedAt: sql`now()`,
        })
        .where(
          and(
            eq(tasks.id, taskId),
            eq(tasks.state, "ready"),
            // An attempt still stopping (paused, restarted, its work being pushed) finishes first: the next
            // one starts from what it pushed. Its conclusion asks for another scheduling pass.
            sql`not exists (select 1 from ${attempts} where ${attempts.taskId} = ${tasks.id} and ${attempts.state} in ('queued', 'running'))`,
          ),
        )
        .returning();
      if (!task) return undefined;
      const [row] = await tx
        .insert(attempts)
        .values({
          taskId,
          number: task.attemptCount,
          triggeredBy: task.modifiedBy ?? task.createdBy,
          start: before?.nextStart ?? null,
        })
        .returning({ id: attempts.id });
      if (!row) throw new Error(`attempt ${task.attemptCount} of task ${taskId} was not created`);
      return { taskId, attemptId: row.id, attemptNumber: task.attemptCount };
    });
    if (attempt) queued.push(attempt);
  }
  return queued;
}

/** The drover.yml a repository's most recently triggered task ran with (the defaults if unreadable). */
export async function latestConfigOf(db: Db, repoId: number): Promise<DroverConfig | undefined> {
  const [row] = await db
    .select({ id: tasks.id, config: tasks.config })
    .from(tasks)
    .where(eq(tasks.repoId, repoId))
    .orderBy(sql`${tasks.updatedAt} desc`)
    .limit(1);
  return row && taskConfigOrDefaults(row);
}

export type TaskSummary = {
  number: number;
  title: string;
  state: TaskState;
  prNumber: number | null;
  attempts: number;
  /** The latest attempt's verdict status (pass, fail, blocked) or its conclusion when it gave none. */
  verdict: string | null;
  summary: string | null;
};

/** Every task of a repository with its latest attempt, for reports (`drover demo`'s summary). */
export async function taskSummaries(db: Db, repoFullName: string): Promise<TaskSummary[]> {
  const rows = await db
    .select({
      id: tasks.id,
      number: tasks.issueNumber,
      title: tasks.title,
      state: tasks.state,
      prNumber: tasks.prNumber,
      attempts: tasks.attemptCount,
    })
    .from(tasks)
    .innerJoin(repositories, eq(repositories.id, tasks.repoId))
    .where(eq(sql`lower(${repositories.fullName})`, repoFullName.toLowerCase()))
    .orderBy(tasks.issueNumber);
  const latest = await latestVerdicts(
    db,
    rows.map((row) => row.id),
  );
  return rows.map(({ id, ...row }) => ({ ...row, ...(latest.get(id) ?? { verdict: null, summary: null }) }));
}

/** Each task's latest attempt: its verdict status (or its conclusion when it gave none) and summary. */
async function latestVerdicts(
  db: Db,
  taskIds: readonly number[],
): Promise<Map<number, { verdict: string | null; summary: string | null }>> {
  if (taskIds.length === 0) return new Map();
  const latest = await db
    .selectDistinctOn([attempts.taskId], {
      taskId: attempts.taskId,
      verdict: attempts.verdict,
      conclusion: attempts.conclusion,
      summary: attempts.summary,
    })
    .from(attempts)
    .where(inArray(attempts.taskId, [...taskIds]))
    .orderBy(attempts.taskId, desc(attempts.number));
  return new Map(
    latest.map((attempt) => {
      const verdict = AgentVerdict.pick({ status: true }).safeParse(attempt.verdict);
      return [
        attempt.taskId,
        {
          verdict: (verdict.success ? verdict.data.status : undefined) ?? attempt.conclusion ?? null,
          summary: attempt.summary ?? null,
        },
      ];
    }),
  );
}

/** A task in `state`, with what a person deciding to start it again wants to see. */
export type StuckTask = {
  taskId: number;
  number: number;
  title: string;
  /** Why it is in its state (`attempts used up: ...`). */
  reason: string | null;
  attempts: number;
  verdict: string | null;
  summary: string | null;
  /**
   * The seq of the event that put it in this state last (null before events were recorded): the same
   * failure keeps it, a later one changes it, so an operator's retry is keyed by it.
   */
  since: number | null;
};

/** A repository's tasks in `state` (by name as GitHub spells it, any case), by issue number. */
export async function tasksInState(db: Db, repoFullName: string, state: TaskState): Promise<StuckTask[]> {
  const rows = await db
    .select({
      taskId: tasks.id,
      number: tasks.issueNumber,
      title: tasks.title,
      reason: tasks.stateReason,
      attempts: tasks.attemptCount,
      since: sql<
        number | null
      >`(select max(e.seq) from events e where e.task_id = ${tasks.id} and e.type = ${`task.${state}`})`.mapWith(
        (value: unknown) => (value === null ? null : Number(value)),
      ),
    })
    .from(tasks)
    .innerJoin(repositories, eq(repositories.id, tasks.repoId))
    .where(and(eq(sql`lower(${repositories.fullName})`, repoFullName.toLowerCase()), eq(tasks.state, state)))
    .orderBy(tasks.issueNumber);
  const latest = await latestVerdicts(
    db,
    rows.map((row) => row.taskId),
  );
  return rows.map((row) => ({ ...row, ...(latest.get(row.taskId) ?? { verdict: null, summary: null }) }));
}

/** Retrying tasks whose time has come, moved back to `ready` for the scheduler; returns their ids. */
export async function releaseDueRetries(db: Db): Promise<number[]> {
  const rows = await db
    .update(tasks)
    .set({ state: "ready", nextAttemptAt: null, stateReason: null, updatedAt: sql`now()` })
    .where(and(eq(tasks.state, "retrying"), lte(tasks.nextAttemptAt, sql`now()`)))
    .returning({ id: tasks.id });
  return rows.map((row) => row.id);
}

/**
 * The retrying task `taskId` back to `ready` when its next attempt is due by `at` (the time a delayed job
 * was queued for: the queue runs it no sooner, and the worker's clock may run a little ahead of
 * PostgreSQL's) or by now. False when it is not retrying, or its next attempt is later than that.
 */
export async function releaseDueRetry(db: Db, taskId: number, at: Date): Promise<boolean> {
  const rows = await db
    .update(tasks)
    .set({ state: "ready", nextAttemptAt: null, stateReason: null, updatedAt: sql`now()` })
    .where(
      and(
        eq(tasks.id, taskId),
        eq(tasks.state, "retrying"),
        lte(tasks.nextAttemptAt, sql`greatest(now(), ${at.toISOString()}::timestamptz)`),
      ),
    )
    .returning({ id: tasks.id });
  return rows.length === 1;
}
