import { and, desc, eq, gt, inArray, isNotNull, sql } from "drizzle-orm";
import { z } from "zod";
import { taskConfigOrDefaults } from "../config/stored.ts";
import type { Db } from "./client.ts";
import { readJson } from "./attempt-record.ts";
import { attempts, events, steps, tasks } from "./schema.ts";
import { pullBasesOf } from "./stacks.ts";
import type { Task } from "./tasks.ts";

/** Drover's open pull requests as their base branch moves under them (issue 16: following the base). */

/** The states in which a task's pull request is open and no attempt works on it: those Drover follows. */
export const FOLLOWED = ["review", "conflict"] as const;
export type FollowedState = (typeof FOLLOWED)[number];

/** The branch a task's pull request targets: drover.yml `base_branch`, else the repository's default. */
export function baseBranchOf(task: Pick<Task, "id" | "config">, defaultBranch: string): string {
  return taskConfigOrDefaults(task).base_branch ?? defaultBranch;
}

/**
 * The tasks of a repository whose pull request is open on `base` and which no attempt works on (in
 * review, or waiting in conflict), oldest first. `base` may be a task branch: the pull requests stacked
 * on it.
 */
export async function tasksOnBase(
  db: Db,
  repoId: number,
  base: string,
  defaultBranch: string,
): Promise<(Task & { state: FollowedState; prNumber: number })[]> {
  const rows = await db
    .select()
    .from(tasks)
    .where(and(eq(tasks.repoId, repoId), inArray(tasks.state, [...FOLLOWED]), isNotNull(tasks.prNumber)))
    .orderBy(tasks.id);
  // A stacked pull request's base is its blocker's branch while that is open (src/db/stacks.ts).
  const bases = await pullBasesOf(
    db,
    rows.map((task) => ({ id: task.id, base: baseBranchOf(task, defaultBranch) })),
  );
  return rows.filter(
    (task): task is Task & { state: FollowedState; prNumber: number } => bases.get(task.id) === base,
  );
}

/**
 * Attempts asked to resolve the conflicts of the task's pull request `prNumber` (automatic or asked for
 * by a person): what drover.yml `max_conflict_attempts` bounds.
 */
export async function conflictAttempts(db: Db, taskId: number, prNumber: number): Promise<number> {
  const [row] = await db
    .select({ count: sql<number>`count(*)::int` })
    .from(attempts)
    .where(
      and(
        eq(attempts.taskId, taskId),
        sql`${attempts.start}->>'cause' = 'conflict'`,
        // Recorded without a pull request's number (none was known): counted for the one open now.
        sql`coalesce((${attempts.start}->>'prNumber')::int, ${prNumber}) = ${prNumber}`,
      ),
    );
  return row?.count ?? 0;
}

const CheckRunStep = z.object({ id: z.number().int().positive() });

/**
 * The `Drover` check run publish made last for the task (its `check-run` step) and the commit it is on;
 * undefined when no attempt of the task published one.
 */
export async function latestCheckRun(
  db: Db,
  taskId: number,
): Promise<{ id: number; headSha: string } | undefined> {
  const [row] = await db
    .select({ attemptId: attempts.id, headSha: attempts.headSha, result: steps.result })
    .from(attempts)
    .innerJoin(steps, and(eq(steps.attemptId, attempts.id), eq(steps.name, "check-run")))
    .where(and(eq(attempts.taskId, taskId), isNotNull(attempts.headSha)))
    .orderBy(desc(attempts.number))
    .limit(1);
  if (!row?.headSha) return undefined;
  const step = readJson(CheckRunStep, row.result, `step "check-run" of attempt ${row.attemptId}`);
  return { id: step.id, headSha: row.headSha };
}

/** Tasks whose agent may be working from a base that is moving under it. */
const IN_FLIGHT = ["ready", "queued", "running", "retrying"] as const;

/** What marks a task whose base moved while it was in flight (see `markBaseMoved`). */
const BASE_MOVED = "task.base-moved";

/**
 * A push to `base` found these tasks in flight (not in review, so not followed): each gets an event saying
 * so, which publish reads (`baseMovedSince`) to look at the pull request once it is made or updated, as
 * the push would have. Nothing is asked of GitHub here.
 */
export async function markBaseMoved(
  db: Db,
  repoId: number,
  base: { branch: string; sha: string },
  defaultBranch: string,
): Promise<number> {
  const rows = await db
    .select()
    .from(tasks)
    .where(and(eq(tasks.repoId, repoId), inArray(tasks.state, [...IN_FLIGHT])));
  const moved = rows.filter((task) => baseBranchOf(task, defaultBranch) === base.branch);
  if (moved.length > 0)
    await db
      .insert(events)
      .values(moved.map((task) => ({ taskId: task.id, type: BASE_MOVED, data: { ...base } })));
  return moved.length;
}

/** Whether a push moved the task's base since `since` (while its attempt ran). */
export async function baseMovedSince(db: Db, taskId: number, since: Date): Promise<boolean> {
  const [row] = await db
    .select({ id: events.id })
    .from(events)
    .where(and(eq(events.taskId, taskId), eq(events.type, BASE_MOVED), gt(events.at, since)))
    .limit(1);
  return row !== undefined;
}
