import { setTimeout as sleep } from "node:timers/promises";
import { sql } from "drizzle-orm";
import type { Db } from "./client.ts";

/** How long a job waits for another to finish with the same issue before giving up (its job retries). */
const WAIT_MS = 30_000;
const POLL_MS = 100;

export class IssueBusyError extends Error {
  constructor(repoId: number, issueNumber: number, waitedMs: number) {
    super(
      `issue #${issueNumber} of repository ${repoId} was still being worked on by another job after ` +
        `${waitedMs} ms; this job will be tried again`,
    );
    this.name = "IssueBusyError";
  }
}

/**
 * Runs `work` while no other process runs work for the same issue, by a PostgreSQL advisory lock held
 * for the length of `work` (a transaction left open on one connection; ended by commit, or by the
 * connection dropping when the process dies, so a crash never leaves it held). For work that reads
 * GitHub and PostgreSQL, writes to GitHub, then records what it wrote: without the lock, two jobs can
 * both read "nothing yet" and both write.
 *
 * A waiter polls with `pg_try_advisory_xact_lock` and holds no connection while it sleeps, so waiters can
 * never take every connection of the pool from the holder. `work` uses `db` as usual, not the lock's
 * transaction.
 */
export async function withIssueLock<T>(
  db: Db,
  repoId: number,
  issueNumber: number,
  work: () => Promise<T>,
  waitMs = WAIT_MS,
): Promise<T> {
  const key = `drover:issue:${repoId}#${issueNumber}`;
  const started = Date.now();
  for (;;) {
    const outcome = await db.transaction(async (tx) => {
      const [row] = await tx.execute<{ locked: boolean }>(
        sql`select pg_try_advisory_xact_lock(hashtextextended(${key}, 0)) as locked`,
      );
      if (!row?.locked) return undefined;
      return { value: await work() };
    });
    if (outcome) return outcome.value;
    const waited = Date.now() - started;
    if (waited >= waitMs) throw new IssueBusyError(repoId, issueNumber, waited);
    await sleep(POLL_MS);
  }
}
