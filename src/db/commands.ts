import { and, asc, eq, isNull, sql } from "drizzle-orm";
import { z } from "zod";
import type { TaskState } from "../graph/model.ts";
import type { Db } from "./client.ts";
import type { Tx } from "./deliveries.ts";
import type { NewHint } from "./hints.ts";
import { withCause, type Cause } from "./events.ts";
import { commandRuns, hints, tasks } from "./schema.ts";
import type { Task, TaskFields } from "./tasks.ts";
import { assertTransition } from "./transition.ts";

/**
 * What came of one `/drover` command: `applied` (🚀 on the comment) or not, what to say about it in the
 * reply (a refusal, where a hint applies), whether it changed its task, and whether the help is due.
 * Stored in `command_runs.outcome` as JSON, so a job run again answers as the first run would have.
 */
export const CommandOutcome = z.object({
  applied: z.boolean(),
  say: z.string().nullable(),
  /** It changed the task (its state, or a hint): the status is shown again. */
  changed: z.boolean(),
  /** The reply ends with the help (an unknown or malformed command, or `/drover help`). */
  help: z.boolean(),
});
export type CommandOutcome = z.infer<typeof CommandOutcome>;

/** One command of a comment, by the delivery that carried it and its place in the comment. */
export type CommandRunKey = { deliveryId: string; index: number; command: string; author: string };

export type CommandRun = { index: number; taskId: number | null; outcome: CommandOutcome; answered: boolean };

/** The commands of a delivery already run (by an earlier run of its job), by index. */
export async function commandRunsOf(db: Db | Tx, deliveryId: string): Promise<Map<number, CommandRun>> {
  const rows = await db
    .select()
    .from(commandRuns)
    .where(eq(commandRuns.deliveryId, deliveryId))
    .orderBy(asc(commandRuns.index));
  return new Map(
    rows.map((row) => [
      row.index,
      {
        index: row.index,
        taskId: row.taskId,
        outcome: readOutcome(row.outcome),
        answered: row.answeredAt !== null,
      },
    ]),
  );
}

/** An outcome as stored; a row no schema reads (written by hand, say) is answered as applied, quietly. */
function readOutcome(text: string): CommandOutcome {
  try {
    const parsed = CommandOutcome.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data;
  } catch {
    // Not JSON: falls through.
  }
  return { applied: true, say: null, changed: false, help: false };
}

/**
 * Records a command's outcome in `tx` (the transaction making its change, if it makes one); false when an
 * earlier run recorded it: that run made the change, and nothing may be made again.
 */
export async function recordCommandRun(
  tx: Db | Tx,
  run: CommandRunKey,
  taskId: number | null,
  outcome: CommandOutcome,
): Promise<boolean> {
  const rows = await tx
    .insert(commandRuns)
    .values({ ...run, taskId, outcome: JSON.stringify(outcome) })
    .onConflictDoNothing()
    .returning({ index: commandRuns.index });
  return rows.length === 1;
}

/** The delivery's commands were answered (reaction, reply): a run of its job again answers nothing. */
export async function markCommandsAnswered(db: Db, deliveryId: string): Promise<void> {
  await db
    .update(commandRuns)
    .set({ answeredAt: sql`now()` })
    .where(and(eq(commandRuns.deliveryId, deliveryId), isNull(commandRuns.answeredAt)));
}

/** What a command does to its task, decided from the task as it is (locked) when the command applies. */
export type Steering = {
  outcome: CommandOutcome;
  /** The state change, guarded: made only from the state the task was read in. */
  move?: {
    to: TaskState;
    fields?: TaskFields;
    /** Who (the command's author) and what to add to the move's event. */
    cause: Cause;
  };
  /** Fields to set without a state change (`modified_by` for a hint). */
  fields?: TaskFields;
  hints?: readonly Omit<NewHint, "taskId">[];
};

export type SteerResult =
  | { kind: "applied-before"; outcome: CommandOutcome }
  | { kind: "decided"; outcome: CommandOutcome; task: Task };

/**
 * Applies one command to task `taskId` once: the task is read and locked, `decide` says what the command
 * does to it in that state, and the change, its event, its hints and the command's run record are written
 * in one transaction. A command already recorded (the same delivery run again) changes nothing.
 */
export async function steerTask(
  db: Db,
  taskId: number,
  run: CommandRunKey,
  decide: (task: Task) => Steering,
): Promise<SteerResult> {
  return db.transaction(async (tx) => {
    const [task] = await tx.select().from(tasks).where(eq(tasks.id, taskId)).for("update");
    if (!task) throw new Error(`task ${taskId} vanished while a command was applied`);
    const steering = decide(task);
    if (!(await recordCommandRun(tx, run, taskId, steering.outcome))) {
      const earlier = await commandRunsOf(tx, run.deliveryId);
      return {
        kind: "applied-before",
        outcome: earlier.get(run.index)?.outcome ?? steering.outcome,
      };
    }
    let row = task;
    const { move } = steering;
    if (move) assertTransition(task.state, move.to);
    await withCause(tx, move?.cause);
    const fields = { ...steering.fields, ...move?.fields, ...(move ? { state: move.to } : {}) };
    if (Object.keys(fields).length > 0) {
      const [updated] = await tx
        .update(tasks)
        .set({ ...fields, updatedAt: sql`now()` })
        .where(and(eq(tasks.id, taskId), eq(tasks.state, task.state)))
        .returning();
      if (!updated) throw new Error(`task ${taskId} moved while it was locked`);
      row = updated;
    }
    if (steering.hints && steering.hints.length > 0) {
      await tx
        .insert(hints)
        .values(steering.hints.map((hint) => ({ ...hint, taskId })))
        .onConflictDoNothing({ target: hints.sourceId });
    }
    return { kind: "decided", outcome: steering.outcome, task: row };
  });
}
