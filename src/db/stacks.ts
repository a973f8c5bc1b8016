import { and, desc, eq, isNotNull, notInArray, sql } from "drizzle-orm";
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

/** A fresh start: no start recorded (a new task, an automatic retry) or `from: "base"`. */
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

export type StackedTask = { id: number; issueNumber: number; prNumber: number; state: TaskState };

/**
 * The tasks whose open pull requests are stacked on `blockerTaskId`'s branch (their latest fresh attempt
 * started onto it), oldest first: those to retarget when its pull request merges, and to bring up to date
 * when its branch changes.
 */
export async function tasksStackedOn(db: Db, blockerTaskId: number): Promise<StackedTask[]> {
  const latestFresh = sql`(select ${attempts.start} from ${attempts}
    where ${attempts.taskId} = ${tasks.id} and ${FRESH} order by ${attempts.number} desc limit 1)`;
  const rows = await db
    .select({ id: tasks.id, issueNumber: tasks.issueNumber, prNumber: tasks.prNumber, state: tasks.state })
    .from(tasks)
    .where(
      and(
        isNotNull(tasks.prNumber),
        notInArray(tasks.state, ["done", "cancelled"]),
        sql`(${latestFresh}->'onto'->>'taskId')::int = ${blockerTaskId}`,
      ),
    )
    .orderBy(tasks.id);
  return rows.filter((row): row is StackedTask => row.prNumber !== null);
}
