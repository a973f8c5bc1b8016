import { and, desc, eq, inArray, isNotNull, isNull, lt, or, sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { installations, repositories, tasks } from "./schema.ts";

export type Repository = typeof repositories.$inferSelect;
export type NewRepository = typeof repositories.$inferInsert;

export async function upsertRepository(db: Db, repo: NewRepository): Promise<Repository> {
  const [row] = await db
    .insert(repositories)
    .values(repo)
    .onConflictDoUpdate({
      target: repositories.id,
      set: {
        installationId: repo.installationId,
        fullName: repo.fullName,
        cloneUrl: repo.cloneUrl,
        defaultBranch: repo.defaultBranch,
        updatedAt: sql`now()`,
      },
    })
    .returning();
  if (!row) throw new Error(`upsert of repository ${repo.fullName} returned nothing`);
  return row;
}

export async function getRepository(db: Db, id: number): Promise<Repository | undefined> {
  return db.query.repositories.findFirst({ where: eq(repositories.id, id) });
}

export type RepoRef = {
  id: number;
  fullName: string;
  installationId: number;
  defaultBranch: string;
  cloneUrl: string;
};

/** A repository by name (any case), if Drover knows it. */
export async function findRepository(db: Db, fullName: string): Promise<RepoRef | undefined> {
  const [row] = await db
    .select({
      id: repositories.id,
      fullName: repositories.fullName,
      installationId: repositories.installationId,
      defaultBranch: repositories.defaultBranch,
      cloneUrl: repositories.cloneUrl,
    })
    .from(repositories)
    .where(eq(sql`lower(${repositories.fullName})`, fullName.toLowerCase()));
  return row;
}

export async function upsertInstallation(
  db: Db,
  installation: { id: number; accountLogin: string; accountType: string },
): Promise<void> {
  await db
    .insert(installations)
    .values(installation)
    .onConflictDoUpdate({
      target: installations.id,
      set: { accountLogin: installation.accountLogin, deletedAt: null, suspendedAt: null },
    });
}

export async function setInstallationStatus(
  db: Db,
  id: number,
  status: "deleted" | "suspended" | "active",
): Promise<void> {
  const now = new Date();
  const fields =
    status === "deleted"
      ? { deletedAt: now }
      : status === "suspended"
        ? { suspendedAt: now }
        : { suspendedAt: null, deletedAt: null };
  await db.update(installations).set(fields).where(eq(installations.id, id));
}

export async function listRepositories(db: Db): Promise<Repository[]> {
  return db.select().from(repositories).orderBy(repositories.id);
}

/**
 * A push to the repository's base branch: its `after` and when GitHub says it was pushed, recorded only
 * when it is newer than the push recorded (webhooks arrive in any order). Two pushes in the same second
 * (GitHub gives seconds) are told apart by their chain: the one whose `before` is the recorded commit
 * came after it. One statement, so two deliveries recorded at once cannot both win. True when this push
 * is the one recorded now (again, for the same push delivered twice).
 */
export async function recordBasePush(
  db: Db,
  repoId: number,
  push: { sha: string; before: string | null; pushedAt: Date },
): Promise<boolean> {
  const sameSecond = [push.sha, ...(push.before === null ? [] : [push.before])];
  const rows = await db
    .update(repositories)
    .set({ baseSha: push.sha, basePushedAt: push.pushedAt, updatedAt: sql`now()` })
    .where(
      and(
        eq(repositories.id, repoId),
        or(
          isNull(repositories.basePushedAt),
          lt(repositories.basePushedAt, push.pushedAt),
          and(eq(repositories.basePushedAt, push.pushedAt), inArray(repositories.baseSha, sameSecond)),
        ),
      ),
    )
    .returning({ id: repositories.id });
  return rows.length > 0;
}

/**
 * The app taken off these repositories (installation_repositories.removed): marked, so their mirrors
 * and pools can go. The first removal's time is kept.
 */
export async function markRepositoriesRemoved(db: Db, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  await db
    .update(repositories)
    .set({ removedAt: sql`now()` })
    .where(and(inArray(repositories.id, [...ids]), isNull(repositories.removedAt)));
}

/** The app uninstalled (installation.deleted): every repository it was on is marked removed. */
export async function markInstallationRepositoriesRemoved(db: Db, installationId: number): Promise<void> {
  await db
    .update(repositories)
    .set({ removedAt: sql`now()` })
    .where(and(eq(repositories.installationId, installationId), isNull(repositories.removedAt)));
}

/** The app installed on these repositories again: no longer removed. */
export async function markRepositoriesAdded(db: Db, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  await db
    .update(repositories)
    .set({ removedAt: null })
    .where(and(inArray(repositories.id, [...ids]), isNotNull(repositories.removedAt)));
}

/**
 * The drover.yml the repository's newest task recorded when it was triggered (unparsed: read it with
 * taskConfig), or undefined when it has no task.
 */
export async function newestTaskConfig(
  db: Db,
  repoId: number,
): Promise<{ id: number; config: unknown } | undefined> {
  const [row] = await db
    .select({ id: tasks.id, config: tasks.config })
    .from(tasks)
    .where(eq(tasks.repoId, repoId))
    .orderBy(desc(tasks.id))
    .limit(1);
  return row;
}
