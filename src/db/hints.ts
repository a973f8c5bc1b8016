import { asc, eq } from "drizzle-orm";
import type { Db } from "./client.ts";
import { hints } from "./schema.ts";

export type Hint = typeof hints.$inferSelect;
export type NewHint = Omit<typeof hints.$inferInsert, "id" | "createdAt"> & { createdAt?: Date };

/**
 * Records what a person told Drover about a task. A hint from a source already recorded (the same comment
 * or review delivered again) is not recorded twice: returns false then.
 */
export async function recordHints(db: Db, rows: readonly NewHint[]): Promise<number> {
  if (rows.length === 0) return 0;
  const inserted = await db
    .insert(hints)
    .values([...rows])
    .onConflictDoNothing({ target: hints.sourceId })
    .returning({ id: hints.id });
  return inserted.length;
}

/** Every hint and review comment of a task, oldest first. */
export async function hintsOf(db: Db, taskId: number): Promise<Hint[]> {
  return db.select().from(hints).where(eq(hints.taskId, taskId)).orderBy(asc(hints.createdAt), asc(hints.id));
}
