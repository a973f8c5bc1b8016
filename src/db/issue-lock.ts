import { setTimeout as sleep } from "node:timers/promises";
import { sql } from "drizzle-orm";
import type { Db } from "./client.ts";

/** How long a job polls for another to finish with the same issue; then its job is put back to wait. */
const WAIT_MS = 30_000;
const POLL_MS = 100;

export class IssueBusyError extends Error {
  constructor(repoId: number, issueNumber: number, waitedMs: number) {
    super(
      `issue #${issueNumber} of repository ${repoId} was still being worked on by another job after ` +
        `${waitedMs} ms; this job waits and tries again`,
    );
    this.name = "IssueBusyError";
  }
}

/**
 * Runs `work` while no other process runs work for the same issue, by a PostgreSQL advisory lock held for
 * the length of `work`: a transaction left open on one connection, ended by commit, or by the connection
 * dropping when the process dies (a machine that vanishes is found out by TCP keepalives within about a
 * minute). For work that reads GitHub and PostgreSQL, writes to GitHub, then records what it wrote:
 * without the lock, two jobs can both read "nothing yet" and both write. `work` uses `db` as usual, not the
 * lock's transaction.
 *
 * A waiter polls with `pg_try_advisory_xact_lock` and holds no connection while it sleeps, so waiters can
 * never take every connection of the pool from the holder. A holder keeps one connection and its work
 * needs others: the pool must be larger than the connections the jobs that can hold it at once keep (both
 * lanes; see `poolSize` in src/main/boot.ts).
 */
export async function withIssueLock<T>(
  db: Db,
  repoId: number,
  issueNumber: number,
  work: () => Promise<T>,
  waitMs = WAIT_MS,
  /**
   * Held together with other shared holders, only never with the one holding it whole: for a change
   * made in one statement (a link added) that must wait for a read-and-replace (a start recording the
   * whole list), but not for another such change. Default false.
   */
  shared = false,
): Promise<T> {
  return withAdvisoryLock(db, `drover:issue:${repoId}#${issueNumber}`, work, {
    waitMs,
    pollMs: POLL_MS,
    busy: (waited) => new IssueBusyError(repoId, issueNumber, waited),
    shared,
  });
}

/**
 * Runs `work` while no other process holds the advisory lock `key` (see `withIssueLock`): polled for with
 * `pg_try_advisory_xact_lock`, holding no connection while it waits; after `waitMs`, `busy`'s error.
 */
export async function withAdvisoryLock<T>(
  db: Db,
  key: string,
  work: () => Promise<T>,
  options: { waitMs: number; pollMs: number; busy: (waitedMs: number) => Error; shared?: boolean },
): Promise<T> {
  const take = options.shared
    ? sql`pg_try_advisory_xact_lock_shared(hashtextextended(${key}, 0))`
    : sql`pg_try_advisory_xact_lock(hashtextextended(${key}, 0))`;
  const started = Date.now();
  for (;;) {
    // The work's own error is kept apart: a lock connection that died meanwhile must not replace it
    // with a failed ROLLBACK's (a permanent error would be retried, a rate limit would cost a try).
    let failure: { error: unknown } | undefined;
    let outcome: { value: T } | undefined;
    try {
      outcome = await db.transaction(async (tx) => {
        // A holder whose machine vanished (power, network) is noticed in about a minute, not TCP's two hours.
        const [row] = await tx.execute<{ locked: boolean }>(
          sql`select set_config('tcp_keepalives_idle', '30', true),
                     set_config('tcp_keepalives_interval', '10', true),
                     set_config('tcp_keepalives_count', '3', true),
                     ${take} as locked`,
        );
        if (!row?.locked) return undefined;
        try {
          return { value: await work() };
        } catch (error) {
          failure = { error };
          return undefined;
        }
      });
    } catch (error) {
      if (!failure) throw error;
    }
    if (failure) throw failure.error;
    if (outcome) return outcome.value;
    const waited = Date.now() - started;
    if (waited >= options.waitMs) throw options.busy(waited);
    await sleep(options.pollMs);
  }
}
