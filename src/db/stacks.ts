import { and, desc, eq, inArray, isNotNull, notInArray, sql } from "drizzle-orm";
import { readStart, type Onto } from "./attempt-start.ts";
import type { Db } from "./client.ts";
import { attempts, tasks, type TaskState } from "./schema.ts";

/**
 * Stacked work (drover.yml `stack: true`): which blocker a task's pull request is stacked on, and so which
 * branch it targets. A task is stacked by the attempt that made its branch afresh (from the base, or onto
 * a blocker's branch): its `onto`. Later attempts build on the branch and keep it.
 */

export type Stack = { onto: Onto; blockerState: TaskState | null };

/** Blockers in these states no longer hold a stacked pull request: it targets the base branch. */
const UNSTACKED: readonly (TaskState | null)[] = ["done", "cancelled", null];

/**
 * The `start` of the latest attempt that made the task's branch afresh: no start recorded (a new task, an
 * automatic retry) or `from: "base"`. Spelt out in full: in a select list drizzle leaves columns unqualified,
 * and `id` inside the subquery would be the attempt's.
 */
const LATEST_FRESH = sql.raw(`(select a."start" from "attempts" a where a."task_id" = "tasks"."id"
  and (a."start" is null or a."start"->>'from' = 'base') order by a."number" desc limit 1)`);
const FRESH = sql`(${attempts.start} is null or ${attempts.start}->>'from' = 'base')`;

/** The blocker task `taskId`'s branch is stacked on, with that blocker's state now; null when none. */
export async function stackOf(db: Db, taskId: number): Promise<Stack | null> {
  const [latest] = await db
    .select({ start: attempts.start })
    .from(attempts)
    .where(and(eq(attempts.taskId, taskId), FRESH))
    .orderBy(desc(attempts.number))
    .limit(1);
  const onto = readStart(latest?.start)?.onto;
  if (!onto) return null;
  const [blocker] = await db.select({ state: tasks.state }).from(tasks).where(eq(tasks.id, onto.taskId));
  return { onto, blockerState: blocker?.state ?? null };
}

/**
 * The branch a task's pull request targets: its blocker's branch while that blocker's own pull request is
 * open, else `base` (drover.yml `base_branch` or the repository's default branch).
 */
export function pullBase(stack: Stack | null, base: string): string {
  return stack && !UNSTACKED.includes(stack.blockerState) ? stack.onto.branch : base;
}

/**
 * The branch each task's pull request targets (see `pullBase`; `base` is each one's drover.yml
 * `base_branch` or the repository's default), in one read: what following the base compares a moved
 * branch with, so a push to a blocker's branch concerns the pull requests stacked on it.
 */
export async function pullBasesOf(
  db: Db,
  of: readonly { id: number; base: string }[],
): Promise<Map<number, string>> {
  const bases = new Map(of.map((task) => [task.id, task.base]));
  if (of.length === 0) return bases;
  const rows = await db
    .select({ id: tasks.id, start: LATEST_FRESH })
    .from(tasks)
    .where(inArray(tasks.id, [...bases.keys()]));
  const stacked = rows.flatMap((row) => {
    const onto = readStart(row.start)?.onto;
    return onto ? [{ id: row.id, onto }] : [];
  });
  if (stacked.length === 0) return bases;
  const blockers = await db
    .select({ id: tasks.id, state: tasks.state })
    .from(tasks)
    .where(inArray(tasks.id, [...new Set(stacked.map((s) => s.onto.taskId))]));
  const stateOf = new Map(blockers.map((blocker) => [blocker.id, blocker.state]));
  for (const { id, onto } of stacked) {
    const stack = { onto, blockerState: stateOf.get(onto.taskId) ?? null };
    bases.set(id, pullBase(stack, bases.get(id)!));
  }
  return bases;
}

export type StackedTask = { id: number; issueNumber: number; prNumber: number; state: TaskState };

/**
 * The tasks whose open pull requests are stacked on `blockerTaskId`'s branch (their latest fresh attempt
 * started onto it), oldest first: those to retarget when its pull request merges, and to bring up to date
 * when its branch changes.
 */
export async function tasksStackedOn(db: Db, blockerTaskId: number): Promise<StackedTask[]> {
  const rows = await db
    .select({ id: tasks.id, issueNumber: tasks.issueNumber, prNumber: tasks.prNumber, state: tasks.state })
    .from(tasks)
    .where(
      and(
        isNotNull(tasks.prNumber),
        notInArray(tasks.state, ["done", "cancelled"]),
        sql`(${LATEST_FRESH}->'onto'->>'taskId')::int = ${blockerTaskId}`,
      ),
    )
    .orderBy(tasks.id);
  return rows.filter((row): row is StackedTask => row.prNumber !== null);
}
