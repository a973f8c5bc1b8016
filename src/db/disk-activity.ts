import { and, eq, isNull, or } from "drizzle-orm";
import type { Db } from "./client.ts";
import { attempts, installations, repositories, tasks } from "./schema.ts";

/** What uses a worker's DROVER_HOME, as PostgreSQL says: what housekeeping must not remove. */
export type DiskUse = {
  /**
   * `owner/name` of every repository Drover is installed on: not taken off it (`removed_at`), and its
   * installation neither deleted nor suspended. A repository whose installation Drover never recorded counts
   * as installed: nothing says it was taken away.
   */
  installed: string[];
  /** The attempts running, as the prefix of their run names (`<repoId>-<issue>-<attempt>-`) and repository. */
  running: { runPrefix: string; repoFullName: string }[];
};

export async function readDiskUse(db: Db): Promise<DiskUse> {
  const installed = await db
    .select({ fullName: repositories.fullName })
    .from(repositories)
    .leftJoin(installations, eq(installations.id, repositories.installationId))
    .where(
      and(
        isNull(repositories.removedAt),
        or(isNull(installations.id), and(isNull(installations.deletedAt), isNull(installations.suspendedAt))),
      ),
    );
  const running = await db
    .select({
      repoId: tasks.repoId,
      issueNumber: tasks.issueNumber,
      number: attempts.number,
      fullName: repositories.fullName,
    })
    .from(attempts)
    .innerJoin(tasks, eq(tasks.id, attempts.taskId))
    .innerJoin(repositories, eq(repositories.id, tasks.repoId))
    .where(eq(attempts.state, "running"));
  return {
    installed: installed.map((row) => row.fullName),
    // The run name's last part, the lease epoch, is left off: every epoch's directory of a running attempt
    // stays (see jobs/run-task/worktree.ts for the name).
    running: running.map((row) => ({
      runPrefix: `${row.repoId}-${row.issueNumber}-${row.number}-`,
      repoFullName: row.fullName,
    })),
  };
}
