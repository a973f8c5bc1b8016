import { and, desc, eq, inArray, isNotNull, notInArray, sql } from "drizzle-orm";
import type { EdgeSource } from "../graph/model.ts";
import type { Db } from "./client.ts";
import { attempts, dependencies, issues, repositories, schedulerState, tasks } from "./schema.ts";

export type IssueRow = typeof issues.$inferSelect;
export type NewIssueRow = typeof issues.$inferInsert;
export type DependencyRow = typeof dependencies.$inferSelect;

export async function upsertIssue(db: Db, row: NewIssueRow): Promise<void> {
  const { key: _key, storyCommentId: _comment, ...fields } = row;
  await db
    .insert(issues)
    .values(row)
    .onConflictDoUpdate({ target: issues.key, set: { ...fields, syncedAt: sql`now()` } });
}

export async function getIssue(db: Db, key: string): Promise<IssueRow | undefined> {
  return db.query.issues.findFirst({ where: eq(issues.key, key) });
}

export async function setStoryComment(db: Db, key: string, commentId: number): Promise<void> {
  await db.update(issues).set({ storyCommentId: commentId }).where(eq(issues.key, key));
}

/** The sub-issues recorded for a story, in GitHub's order. */
export async function subIssuesOf(db: Db, parentKey: string): Promise<IssueRow[]> {
  return db.select().from(issues).where(eq(issues.parentKey, parentKey)).orderBy(issues.subOrder);
}

/**
 * Replaces what one source says `dependent` waits for. Returns whether anything changed, so a sync that
 * learns nothing new schedules nothing.
 */
export async function replaceEdges(
  db: Db,
  dependent: string,
  source: EdgeSource,
  blockers: readonly string[],
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const bySource = and(eq(dependencies.dependent, dependent), eq(dependencies.source, source));
    const removed = await tx
      .delete(dependencies)
      .where(blockers.length > 0 ? and(bySource, notInArray(dependencies.blocker, [...blockers])) : bySource)
      .returning({ blocker: dependencies.blocker });
    const added =
      blockers.length === 0
        ? []
        : await tx
            .insert(dependencies)
            .values(blockers.map((blocker) => ({ dependent, blocker, source })))
            .onConflictDoNothing()
            .returning({ blocker: dependencies.blocker });
    return removed.length + added.length > 0;
  });
}

/** Clears a parent link that GitHub no longer reports (the sub-issue was moved or removed). */
export async function detachSubIssues(db: Db, parentKey: string, keep: readonly string[]): Promise<void> {
  const byParent = eq(issues.parentKey, parentKey);
  await db
    .update(issues)
    .set({ parentKey: null, subOrder: null })
    .where(keep.length > 0 ? and(byParent, notInArray(issues.key, [...keep])) : byParent);
}

export async function edgesOf(db: Db, dependent: string): Promise<DependencyRow[]> {
  return db.select().from(dependencies).where(eq(dependencies.dependent, dependent));
}

export type GraphTaskRow = typeof tasks.$inferSelect & { repoFullName: string; installationId: number };

/** Everything a scheduling pass needs, in three reads. */
export async function loadGraph(db: Db): Promise<{
  issues: IssueRow[];
  edges: DependencyRow[];
  tasks: GraphTaskRow[];
}> {
  const [issueRows, edgeRows, taskRows] = await Promise.all([
    db.select().from(issues),
    db.select().from(dependencies),
    db
      .select({
        task: tasks,
        repoFullName: repositories.fullName,
        installationId: repositories.installationId,
      })
      .from(tasks)
      .innerJoin(repositories, eq(repositories.id, tasks.repoId)),
  ]);
  return {
    issues: issueRows,
    edges: edgeRows,
    tasks: taskRows.map((row) => ({
      ...row.task,
      repoFullName: row.repoFullName,
      installationId: row.installationId,
    })),
  };
}

/** Durations of recent successful attempts per repository: what expected durations are learned from. */
export async function recentDurations(db: Db, perRepo = 10): Promise<Map<number, number[]>> {
  const rows = await db
    .select({ repoId: tasks.repoId, durationMs: attempts.durationMs })
    .from(attempts)
    .innerJoin(tasks, eq(tasks.id, attempts.taskId))
    .where(and(eq(attempts.conclusion, "success"), isNotNull(attempts.durationMs)))
    .orderBy(desc(attempts.finishedAt))
    .limit(5000);
  const byRepo = new Map<number, number[]>();
  for (const row of rows) {
    const list = byRepo.get(row.repoId) ?? [];
    if (list.length < perRepo && row.durationMs !== null) list.push(row.durationMs);
    byRepo.set(row.repoId, list);
  }
  return byRepo;
}

/** Says "something changed": a scheduling pass running now will go round once more. */
export async function bumpGeneration(db: Db): Promise<void> {
  await db
    .insert(schedulerState)
    .values({ id: 1, generation: 1 })
    .onConflictDoUpdate({
      target: schedulerState.id,
      set: { generation: sql`${schedulerState.generation} + 1` },
    });
}

export async function readGeneration(db: Db): Promise<number> {
  const row = await db.query.schedulerState.findFirst({ where: eq(schedulerState.id, 1) });
  return row?.generation ?? 0;
}

/** Tasks moving between waiting and ready, guarded on the state the pass saw. */
export async function setReadiness(
  db: Db,
  changes: {
    id: number;
    from: "waiting" | "ready" | "queued";
    to: "waiting" | "ready";
    reason: string | null;
  }[],
): Promise<number[]> {
  const moved: number[] = [];
  for (const change of changes) {
    const rows = await db
      .update(tasks)
      .set({ state: change.to, stateReason: change.reason, updatedAt: sql`now()` })
      .where(and(eq(tasks.id, change.id), eq(tasks.state, change.from)))
      .returning({ id: tasks.id });
    if (rows.length > 0) moved.push(change.id);
  }
  return moved;
}

export async function setCycles(db: Db, changes: { id: number; cycle: string | null }[]): Promise<void> {
  for (const change of changes)
    await db.update(tasks).set({ cycle: change.cycle }).where(eq(tasks.id, change.id));
}

export async function tasksByIds(db: Db, ids: number[]): Promise<(typeof tasks.$inferSelect)[]> {
  if (ids.length === 0) return [];
  return db.select().from(tasks).where(inArray(tasks.id, ids));
}

/**
 * What reconcile reads again: every open task (with its links) and every issue the graph knows that is
 * still open (state only).
 */
export async function issuesToResync(
  db: Db,
): Promise<{ installationId: number; repoFullName: string; number: number; isTask: boolean }[]> {
  const taskRows = await db
    .select({
      installationId: repositories.installationId,
      repoFullName: repositories.fullName,
      number: tasks.issueNumber,
    })
    .from(tasks)
    .innerJoin(repositories, eq(repositories.id, tasks.repoId))
    .where(notInArray(tasks.state, ["done", "cancelled"]));
  const issueRows = await db
    .select({
      installationId: issues.installationId,
      repoFullName: issues.repoFullName,
      number: issues.number,
    })
    .from(issues)
    .where(eq(issues.state, "open"));
  const seen = new Set<string>();
  const out: { installationId: number; repoFullName: string; number: number; isTask: boolean }[] = [];
  for (const [rows, isTask] of [
    [taskRows, true],
    [issueRows, false],
  ] as const) {
    for (const row of rows) {
      const id = `${row.repoFullName.toLowerCase()}#${row.number}`;
      if (seen.has(id)) continue;
      seen.add(id);
      out.push({ ...row, isTask });
    }
  }
  return out;
}
