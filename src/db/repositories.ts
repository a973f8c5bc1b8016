import { eq, sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { installations, repositories } from "./schema.ts";

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
