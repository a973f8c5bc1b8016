import { z } from "zod";
import { eq, isNotNull, sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { withAdvisoryLock } from "./issue-lock.ts";
import { lastWritten } from "./schema.ts";

/** What Drover last wrote on one issue (see `lastWritten` in schema.ts). */
export type LastWritten = {
  key: string;
  /** The managed labels it last set; null: not known (the issue was shown before this was kept). */
  labels: string[] | null;
  statusCommentId: number | null;
  statusHash: string | null;
  storyCommentId: number | null;
  storyHash: string | null;
  owedSince: Date | null;
};

export type LastWrittenPatch = Partial<Omit<LastWritten, "key">>;

const Labels = z.array(z.string()).nullable();

/** How long a writer polls for another to finish writing on the same issue; then it fails to be retried. */
const WAIT_MS = 30_000;
const POLL_MS = 50;

/**
 * Runs `work` with what Drover last wrote on issue `key`, while no other process writes there (an advisory
 * lock held for the length of `work`, polled for so a waiter holds no connection): two jobs showing the
 * same task at once would otherwise both diff against the same memory and both add a label. `record`
 * saves what `work` wrote at once (not in the lock's transaction, so a comment made and recorded stays
 * recorded even if a later write fails): only a crash between a write and its record makes it again.
 */
export async function withLastWritten<T>(
  db: Db,
  key: string,
  work: (last: LastWritten | undefined, record: (patch: LastWrittenPatch) => Promise<void>) => Promise<T>,
  waitMs = WAIT_MS,
): Promise<T> {
  return withAdvisoryLock(
    db,
    `drover:written:${key}`,
    async () => {
      const record = async (patch: LastWrittenPatch) => {
        await db
          .insert(lastWritten)
          .values({ key, ...patch })
          .onConflictDoUpdate({ target: lastWritten.key, set: { ...patch, updatedAt: sql`now()` } });
      };
      return work(await getLastWritten(db, key), record);
    },
    {
      waitMs,
      pollMs: POLL_MS,
      busy: (waited) => new Error(`another job was still writing on ${key} after ${waited} ms`),
    },
  );
}

export async function getLastWritten(db: Db, key: string): Promise<LastWritten | undefined> {
  const [found] = await db.select().from(lastWritten).where(eq(lastWritten.key, key));
  return found ? parse(found) : undefined;
}

/** Issues with a cosmetic edit still owed, oldest first. */
export async function owedWrites(db: Db, limit = 100): Promise<string[]> {
  const rows = await db
    .select({ key: lastWritten.key })
    .from(lastWritten)
    .where(isNotNull(lastWritten.owedSince))
    .orderBy(lastWritten.owedSince)
    .limit(limit);
  return rows.map((row) => row.key);
}

function parse(row: typeof lastWritten.$inferSelect): LastWritten {
  return {
    key: row.key,
    labels: Labels.parse(row.labels),
    statusCommentId: row.statusCommentId,
    statusHash: row.statusHash,
    storyCommentId: row.storyCommentId,
    storyHash: row.storyHash,
    owedSince: row.owedSince,
  };
}
