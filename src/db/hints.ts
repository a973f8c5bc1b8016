import { and, asc, eq, gt, sql } from "drizzle-orm";
import { isBot } from "../lib/bots.ts";
import type { Db } from "./client.ts";
import { hints } from "./schema.ts";

export type Hint = typeof hints.$inferSelect;
export type NewHint = Omit<typeof hints.$inferInsert, "id" | "createdAt"> & { createdAt?: Date };

/**
 * Records what a person told Drover about a task. A hint from a source already recorded (the same comment
 * or review delivered again) is not recorded twice. Returns how many were recorded.
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

/**
 * Who is credited with a task's work, each once, in a stable order: the issue's author, then everyone whose
 * hint or review went into it, in the order they first gave one. Bots (Drover itself) are never credited.
 */
export function creditedPeople(
  issueAuthor: { login: string; id: number | null },
  rows: readonly Pick<Hint, "author" | "authorId">[],
): { login: string; id: number | null }[] {
  const people = new Map<string, { login: string; id: number | null }>();
  for (const person of [issueAuthor, ...rows.map((row) => ({ login: row.author, id: row.authorId }))]) {
    const key = person.login.toLowerCase();
    if (isBot(person) || people.has(key)) continue;
    people.set(key, person);
  }
  return [...people.values()];
}

/** The task's `/drover hint`s recorded after hint `afterId`, oldest first (to give a running agent). */
export async function hintsAfter(db: Db, taskId: number, afterId: number): Promise<Hint[]> {
  return db
    .select()
    .from(hints)
    .where(and(eq(hints.taskId, taskId), gt(hints.id, afterId), eq(hints.kind, "hint")))
    .orderBy(asc(hints.id));
}

/** The hint reached the running agent. */
export async function markGivenLive(db: Db, hintId: number): Promise<void> {
  await db
    .update(hints)
    .set({ givenLiveAt: sql`now()` })
    .where(eq(hints.id, hintId));
}
