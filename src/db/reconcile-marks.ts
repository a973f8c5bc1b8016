import { sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { issues, reconcileMarks, repositories, tasks } from "./schema.ts";

/** Where reconcile's last pass over a repository's issues ended (GitHub's clock); null before the first. */
export async function reconcileMarkOf(db: Db, repoId: number): Promise<Date | null> {
  const [row] = await db
    .select({ since: reconcileMarks.since })
    .from(reconcileMarks)
    .where(sql`${reconcileMarks.repoId} = ${repoId}`);
  return row?.since ?? null;
}

export async function setReconcileMark(db: Db, repoId: number, since: Date | null): Promise<void> {
  await db
    .insert(reconcileMarks)
    .values({ repoId, since })
    .onConflictDoUpdate({ target: reconcileMarks.repoId, set: { since, passedAt: sql`now()` } });
}

export type DueIssue = { installationId: number; repoFullName: string; number: number; isTask: boolean };

/**
 * Issues in the graph (open ones, and every task not finished) that no sync has read for a while: each is
 * due after between 3/4 of `everyMs` and all of it since its last sync, the share fixed by its key, so issues
 * synced together are not all read again together. At most `limit`, the longest unread first.
 */
export async function issuesDueForRevisit(db: Db, everyMs: number, limit: number): Promise<DueIssue[]> {
  const rows = await db.execute<{
    installation_id: string | number;
    repo_full_name: string;
    number: number;
    is_task: boolean;
  }>(sql`
    select i.installation_id, i.repo_full_name, i.number, (t.id is not null) as is_task
    from ${issues} i
    left join ${repositories} r on lower(r.full_name) = lower(i.repo_full_name)
    left join ${tasks} t on t.repo_id = r.id and t.issue_number = i.number
      and t.state not in ('done', 'cancelled')
    where (i.state = 'open' or t.id is not null)
      and i.synced_at < now() - make_interval(secs =>
        ${everyMs / 1000}::float8 * (0.75 + 0.25 * ((hashtext(i.key)::bigint & 1023) / 1024.0)))
    order by i.synced_at
    limit ${limit}`);
  return [...rows].map((row) => ({
    installationId: Number(row.installation_id),
    repoFullName: row.repo_full_name,
    number: row.number,
    isTask: row.is_task,
  }));
}
