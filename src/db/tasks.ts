import { and, count, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { attempts, events, tasks, type TaskState } from "./schema.ts";
import { ACTIVE, TRIGGERABLE } from "../graph/transitions.ts";

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

export type TriggerResult =
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
  },
): Promise<TriggerResult> {
  return db.transaction(async (tx) => {
    const [inserted] = await tx
      .insert(tasks)
      .values({
        repoId: input.repoId,
        issueNumber: input.issueNumber,
        title: input.title,
        state: "ready",
        stateReason: `started by @${input.triggeredBy}`,
        createdBy: input.createdBy,
        createdById: input.createdById,
        modifiedBy: input.triggeredBy,
        branch: input.branch,
        config: input.config,
      })
      .onConflictDoNothing()
      .returning();
    if (inserted) {
      await tx.insert(events).values({ taskId: inserted.id, type: "task.ready", actor: input.triggeredBy });
      return { kind: "created", task: inserted };
    }
    const existing = await tx.query.tasks.findFirst({
      where: and(eq(tasks.repoId, input.repoId), eq(tasks.issueNumber, input.issueNumber)),
    });
    if (!existing) throw new Error(`task for issue #${input.issueNumber} vanished during trigger`);
    if (ACTIVE.includes(existing.state)) return { kind: "already-active", task: existing };
    const [restarted] = await tx
      .update(tasks)
      .set({
        state: "ready",
        stateReason: `restarted by @${input.triggeredBy}`,
        title: input.title,
        modifiedBy: input.triggeredBy,
        config: input.config,
        completedBy: null,
        doneAt: null,
        updatedAt: sql`now()`,
      })
      .where(and(eq(tasks.id, existing.id), inArray(tasks.state, [...TRIGGERABLE])))
      .returning();
    if (!restarted) return { kind: "already-active", task: existing };
    await tx.insert(events).values({ taskId: existing.id, type: "task.ready", actor: input.triggeredBy });
    return { kind: "restarted", task: restarted, previous: existing.state };
  });
}

/**
 * Moves a task to `to` only if it is still in one of `from`; returns the updated row, or undefined when
 * another actor moved it first.
 */
export async function transitionTask(
  db: Db,
  id: number,
  from: readonly TaskState[],
  to: TaskState,
  fields: TaskFields = {},
  event?: { type: string; actor?: string | null; data?: Record<string, unknown> },
): Promise<Task | undefined> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(tasks)
      .set({ ...fields, state: to, updatedAt: sql`now()` })
      .where(and(eq(tasks.id, id), inArray(tasks.state, [...from])))
      .returning();
    if (row && event) {
      await tx
        .insert(events)
        .values({ taskId: id, type: event.type, actor: event.actor ?? null, data: event.data ?? {} });
    }
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
 * Moves up to (limit − tasks already queued or running) ready tasks of one repository to `queued`, each
 * with a new attempt row, oldest first. Serialised per repository so two schedulers cannot exceed the limit.
 */
export async function queueReadyTasks(db: Db, repoId: number, limit: number): Promise<QueuedAttempt[]> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${repoId}::bigint)`);
    const [busy] = await tx
      .select({ n: count() })
      .from(tasks)
      .where(and(eq(tasks.repoId, repoId), inArray(tasks.state, ["queued", "running"])));
    const room = limit - (busy?.n ?? 0);
    if (room <= 0) return [];
    const ready = await tx
      .select()
      .from(tasks)
      .where(and(eq(tasks.repoId, repoId), eq(tasks.state, "ready")))
      .orderBy(tasks.updatedAt, tasks.id)
      .limit(room);
    const queued: QueuedAttempt[] = [];
    for (const task of ready) {
      const number = task.attemptCount + 1;
      await tx
        .update(tasks)
        .set({ state: "queued", attemptCount: number, updatedAt: sql`now()` })
        .where(eq(tasks.id, task.id));
      const [attempt] = await tx
        .insert(attempts)
        .values({ taskId: task.id, number, triggeredBy: task.modifiedBy ?? task.createdBy })
        .returning({ id: attempts.id });
      if (!attempt) throw new Error(`attempt ${number} of task ${task.id} was not created`);
      queued.push({ taskId: task.id, attemptId: attempt.id, attemptNumber: number });
    }
    return queued;
  });
}

/**
 * Repositories with ready tasks, each with the `max_workers` of its most recently triggered task: what the
 * scheduler looks at after a restart.
 */
export async function repositoriesWithReadyTasks(db: Db): Promise<{ repoId: number; maxWorkers: number }[]> {
  const rows = await db
    .selectDistinctOn([tasks.repoId], {
      repoId: tasks.repoId,
      maxWorkers: sql<number>`coalesce((${tasks.config}->>'max_workers')::int, 2)`,
    })
    .from(tasks)
    .where(eq(tasks.state, "ready"))
    .orderBy(tasks.repoId, sql`${tasks.updatedAt} desc`);
  return rows;
}
