import { and, eq, lt, sql } from "drizzle-orm";
import type { AttemptStart } from "./attempt-start.ts";
import type { Db } from "./client.ts";
import { claimDelivery } from "./deliveries.ts";
import { events, tasks } from "./schema.ts";
import type { Task } from "./tasks.ts";
import { assertTransition } from "./transition.ts";

/** What reviews of a task's pull request change in PostgreSQL: rework rounds and approvals. */

export type ReworkResult =
  /** The delivery was applied before (an earlier run of the review job): nothing changed now. */
  | { kind: "applied-before" }
  | { kind: "reworking"; task: Task }
  /** The task left `review`, or reached its rework limit, before this review was applied. */
  | { kind: "not-moved" };

/**
 * A "changes requested" review starts a rework round: the task moves from `review` to `ready`, its next
 * attempt starting on top of the pull request's head, and its round counted; only while it is in review
 * and below `maxReworks`. The delivery is claimed in the same transaction, so a review delivered twice
 * starts one round.
 */
export async function startRework(
  db: Db,
  input: {
    taskId: number;
    deliveryId: string;
    maxReworks: number;
    by: string;
    reviewId: number;
    prNumber: number;
    reason: string;
  },
): Promise<ReworkResult> {
  assertTransition("review", "ready");
  const start: AttemptStart = {
    from: "branch",
    cause: "rework",
    by: input.by,
    reviewId: input.reviewId,
    prNumber: input.prNumber,
  };
  return db.transaction(async (tx) => {
    if (!(await claimDelivery(tx, input.deliveryId))) return { kind: "applied-before" };
    const [task] = await tx
      .update(tasks)
      .set({
        state: "ready",
        stateReason: input.reason,
        nextStart: start,
        reworkCount: sql`${tasks.reworkCount} + 1`,
        modifiedBy: input.by,
        updatedAt: sql`now()`,
      })
      .where(
        and(eq(tasks.id, input.taskId), eq(tasks.state, "review"), lt(tasks.reworkCount, input.maxReworks)),
      )
      .returning();
    if (!task) return { kind: "not-moved" };
    await tx.insert(events).values({
      taskId: task.id,
      type: "task.rework",
      actor: input.by,
      data: { reviewId: input.reviewId, pr: input.prNumber, round: task.reworkCount },
    });
    return { kind: "reworking", task };
  });
}

/**
 * An approval of the task's pull request: who and when, and an event. False when the delivery was
 * applied before.
 */
export async function recordApproval(
  db: Db,
  input: { taskId: number; deliveryId: string; by: string; at: Date; reviewId: number; prNumber: number },
): Promise<boolean> {
  return db.transaction(async (tx) => {
    if (!(await claimDelivery(tx, input.deliveryId))) return false;
    await tx
      .update(tasks)
      .set({ approvedBy: input.by, approvedAt: input.at, updatedAt: sql`now()` })
      .where(eq(tasks.id, input.taskId));
    await tx.insert(events).values({
      taskId: input.taskId,
      type: "pr.approved",
      actor: input.by,
      data: { reviewId: input.reviewId, pr: input.prNumber },
    });
    return true;
  });
}
