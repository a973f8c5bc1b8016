import { and, desc, eq, inArray, isNotNull, notInArray, sql } from "drizzle-orm";
import type { EdgeSource } from "../graph/model.ts";
import type { Onto } from "./attempt-start.ts";
import { assertTransition } from "./transition.ts";
import type { Db } from "./client.ts";
import {
  attempts,
  dependencies,
  graphChanges,
  issues,
  repositories,
  schedulerState,
  tasks,
} from "./schema.ts";

export type IssueRow = typeof issues.$inferSelect;
export type NewIssueRow = typeof issues.$inferInsert;
export type DependencyRow = typeof dependencies.$inferSelect;

/** What GitHub says of the issue itself: written only from a copy not older than the one recorded. */
const FACTS = ["title", "state", "closedAs", "labels", "milestone"] as const;

/**
 * Records an issue. Its facts (title, state, labels, milestone, how it closed) are written only when the
 * copy they come from is not older than the one recorded (`githubUpdatedAt`), decided in the statement
 * itself, so two jobs applying copies out of order leave the newer one, whichever writes last. GitHub's
 * `updated_at` has whole seconds: of two copies from the same second, the last applied stands. The rest
 * (installation, parent and order, links read, readable) is Drover's own and always written. Returns false
 * when the facts were older than those recorded and left out.
 */
export async function upsertIssue(db: Db, row: NewIssueRow): Promise<boolean> {
  const { key: _key, githubUpdatedAt, ...fields } = row;
  const newer = sql`(${sql.raw('"issues"."github_updated_at"')} is null or excluded."github_updated_at" >= ${sql.raw('"issues"."github_updated_at"')})`;
  const set: Record<string, unknown> = { ...fields, syncedAt: sql`now()` };
  for (const fact of FACTS) {
    if (!(fact in fields)) continue;
    const column = sql.identifier(issues[fact].name);
    set[fact] = sql`case when ${newer} then excluded.${column} else ${sql.raw('"issues".')}${column} end`;
  }
  if (githubUpdatedAt !== undefined) {
    set.githubUpdatedAt = sql`greatest(${sql.raw('"issues"."github_updated_at"')}, excluded."github_updated_at")`;
  }
  const [stored] = await db
    .insert(issues)
    .values(row)
    .onConflictDoUpdate({ target: issues.key, set })
    .returning({ updatedAt: issues.githubUpdatedAt });
  const at = stored?.updatedAt ?? null;
  return at === null || (githubUpdatedAt != null && at.getTime() <= githubUpdatedAt.getTime());
}

export async function getIssue(db: Db, key: string): Promise<IssueRow | undefined> {
  return db.query.issues.findFirst({ where: eq(issues.key, key) });
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

/**
 * One link added, in one statement: links applied at once (two webhooks for the same issue) both stay, as
 * none reads the list to write it back. Returns whether it is new.
 */
export async function addEdge(
  db: Db,
  dependent: string,
  source: EdgeSource,
  blocker: string,
): Promise<boolean> {
  const added = await db
    .insert(dependencies)
    .values({ dependent, blocker, source })
    .onConflictDoNothing()
    .returning({ blocker: dependencies.blocker });
  return added.length > 0;
}

/** One link removed, in one statement (see `addEdge`). Returns whether it was there. */
export async function removeEdge(
  db: Db,
  dependent: string,
  source: EdgeSource,
  blocker: string,
): Promise<boolean> {
  const removed = await db
    .delete(dependencies)
    .where(
      and(
        eq(dependencies.dependent, dependent),
        eq(dependencies.source, source),
        eq(dependencies.blocker, blocker),
      ),
    )
    .returning({ blocker: dependencies.blocker });
  return removed.length > 0;
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

export type GraphTaskRow = typeof tasks.$inferSelect & {
  repoFullName: string;
  installationId: number;
  /** Its latest finished attempt concluded `success`: what a task stacked on it needs (src/graph/stack.ts). */
  passed: boolean;
};

/** Everything a scheduling pass needs, in three reads. */
export async function loadGraph(db: Db): Promise<GraphRows> {
  const [issueRows, edgeRows, taskRows] = await Promise.all([
    db.select().from(issues),
    db.select().from(dependencies),
    graphTasks(db),
  ]);
  return { issues: issueRows, edges: edgeRows, tasks: taskRows };
}

export type GraphRows = { issues: IssueRow[]; edges: DependencyRow[]; tasks: GraphTaskRow[] };

/**
 * The rows of some issues and tasks, as `loadGraph` reads them all: the issues by key, every edge whose
 * dependent is one of them, the tasks by id.
 */
export async function loadGraphPart(
  db: Db,
  keys: readonly string[],
  taskIds: readonly number[],
): Promise<GraphRows> {
  const none = Promise.resolve([]);
  const [issueRows, edgeRows, taskRows] = await Promise.all([
    keys.length > 0
      ? db
          .select()
          .from(issues)
          .where(inArray(issues.key, [...keys]))
      : none,
    keys.length > 0
      ? db
          .select()
          .from(dependencies)
          .where(inArray(dependencies.dependent, [...keys]))
      : none,
    taskIds.length > 0 ? graphTasks(db, taskIds) : none,
  ]);
  return { issues: issueRows, edges: edgeRows, tasks: taskRows };
}

async function graphTasks(db: Db, ids?: readonly number[]): Promise<GraphTaskRow[]> {
  const rows = await db
    .select({
      task: tasks,
      repoFullName: repositories.fullName,
      installationId: repositories.installationId,
      // Concluded in the transaction that moves the task, so the task row's change (which the scheduler
      // reads) comes with it.
      passed: sql<boolean>`coalesce((select ${attempts.conclusion} = 'success' from ${attempts}
        where ${attempts.taskId} = ${tasks.id} and ${attempts.state} = 'finished'
        order by ${attempts.number} desc limit 1), false)`,
    })
    .from(tasks)
    .innerJoin(repositories, eq(repositories.id, tasks.repoId))
    .where(ids ? inArray(tasks.id, [...ids]) : undefined);
  return rows.map((row) => ({
    ...row.task,
    repoFullName: row.repoFullName,
    installationId: row.installationId,
    passed: row.passed,
  }));
}

/**
 * Where a reader of `graph_changes` stands: rows of transactions at or above `watermark` may still be
 * unread (the oldest transaction running when it last read, so a change committed late is read next time).
 */
export type GraphChanges = {
  watermark: number;
  keys: string[];
  taskIds: number[];
  /** Rows of transactions below this were pruned: a reader whose watermark is lower must load everything. */
  prunedBelow: number;
};

/**
 * The keys and task ids changed by transactions from `since` on (all of them: a reread is harmless), and
 * the watermark for the next read, in one statement so both come from one snapshot. With `since` null,
 * only the watermark: the caller loads everything after this.
 */
export async function readGraphChanges(db: Db, since: number | null): Promise<GraphChanges> {
  const from = since ?? Number.MAX_SAFE_INTEGER;
  const [row] = await db.execute<{
    watermark: string;
    keys: string[] | null;
    task_ids: number[] | null;
    pruned_below: string | null;
  }>(sql`
    select (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint as watermark,
      (select array_agg(distinct ${graphChanges.key}) from ${graphChanges} where ${graphChanges.txid} >= ${from}::bigint) as keys,
      (select array_agg(distinct ${graphChanges.taskId}) from ${graphChanges}
        where ${graphChanges.txid} >= ${from}::bigint and ${graphChanges.taskId} is not null) as task_ids,
      (select ${schedulerState.changesPrunedBelow} from ${schedulerState} where ${schedulerState.id} = 1) as pruned_below`);
  return {
    watermark: Number(row!.watermark),
    keys: row!.keys ?? [],
    taskIds: row!.task_ids ?? [],
    prunedBelow: Number(row!.pruned_below ?? 0),
  };
}

/**
 * Drops `graph_changes` rows older than `olderThanMs`, and records below which transaction rows may be
 * missing, so a reader that slept past them loads everything instead of missing a change.
 */
export async function pruneGraphChanges(db: Db, olderThanMs: number): Promise<number> {
  return db.transaction(async (tx) => {
    const removed = await tx
      .delete(graphChanges)
      // Only rows every reader has read past: below the oldest running transaction (a long one holds
      // readers' watermarks back, and pruning past it would make every pass reload everything).
      .where(
        sql`${graphChanges.at} < now() - make_interval(secs => ${olderThanMs / 1000})
          and ${graphChanges.txid} < (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint`,
      )
      .returning({ txid: graphChanges.txid });
    if (removed.length === 0) return 0;
    const below = Math.max(...removed.map((row) => row.txid)) + 1;
    await tx
      .insert(schedulerState)
      .values({ id: 1, changesPrunedBelow: below })
      .onConflictDoUpdate({
        target: schedulerState.id,
        set: { changesPrunedBelow: sql`greatest(${schedulerState.changesPrunedBelow}, ${below}::bigint)` },
      });
    return removed.length;
  });
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

export type ReadinessMove = {
  id: number;
  from: "waiting" | "ready" | "queued";
  to: "waiting" | "ready";
  reason: string | null;
  /** Stacked: the blocker its next attempt starts on (kept in `next_start`); without it, none. */
  onto?: Onto;
};

/**
 * Tasks moving between waiting and ready (or only their reason changing), guarded on the state the pass
 * saw, in one statement. Returns the ids that moved. A stacked task's next start gets its `onto`, kept
 * beside whatever else asked for the attempt (a retry, a resume); any other move drops it, so a task whose
 * blocker merged meanwhile starts from the base branch.
 */
export async function setReadiness(db: Db, changes: readonly ReadinessMove[]): Promise<number[]> {
  for (const change of changes) assertTransition(change.from, change.to);
  if (changes.length === 0) return [];
  const rows = await db.execute<{ id: number }>(sql`
    update ${tasks} set state = v."to", state_reason = v.reason, updated_at = now(),
      next_start = case when v.onto is null then ${tasks.nextStart} - 'onto'
        else coalesce(${tasks.nextStart}, jsonb_build_object('from', 'base', 'cause', 'label',
          'by', coalesce(${tasks.modifiedBy}, ${tasks.createdBy}))) || jsonb_build_object('onto', v.onto) end
    from jsonb_to_recordset(${JSON.stringify(changes)}::jsonb)
      as v(id int, "from" text, "to" text, reason text, onto jsonb)
    where ${tasks.id} = v.id and ${tasks.state} = v."from"
    returning ${tasks.id} as id`);
  return [...rows].map((row) => Number(row.id));
}

/** The cycle each task reports (null: none), in one statement. */
export async function setCycles(
  db: Db,
  changes: readonly { id: number; cycle: string | null }[],
): Promise<void> {
  if (changes.length === 0) return;
  await db.execute(sql`
    update ${tasks} set cycle = v.cycle
    from jsonb_to_recordset(${JSON.stringify(changes)}::jsonb) as v(id int, cycle text)
    where ${tasks.id} = v.id`);
}
