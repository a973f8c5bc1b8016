import { createHash, randomBytes } from "node:crypto";
import { and, eq, gt, isNull, sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { apiTokens, webSessions } from "./schema.ts";

/**
 * Who may read the API and the dashboard: people signed in with GitHub (a session) and holders of an API
 * token an operator issued. Only hashes of the secrets are stored: a copy of the database opens nothing.
 */

/** sha256 hex: how a session's cookie value or an API token is kept. */
export function secretHash(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/** A new secret (a session cookie's value, an API token): 32 random bytes, URL-safe. */
export function newSecret(prefix = ""): string {
  return `${prefix}${randomBytes(32).toString("base64url")}`;
}

export type Session = { login: string; userId: number; repos: string[]; expiresAt: Date };

/** Records a signed-in person; returns the cookie value (shown once, never stored). */
export async function createSession(
  db: Db,
  person: { login: string; userId: number; repos: readonly string[] },
  ttlMs: number,
): Promise<string> {
  const secret = newSecret();
  await db.insert(webSessions).values({
    idHash: secretHash(secret),
    login: person.login,
    userId: person.userId,
    repos: person.repos.map((repo) => repo.toLowerCase()),
    expiresAt: new Date(Date.now() + ttlMs),
  });
  return secret;
}

/** The session a cookie value opens, if it has not expired. */
export async function findSession(db: Db, secret: string): Promise<Session | undefined> {
  const [row] = await db
    .select()
    .from(webSessions)
    .where(and(eq(webSessions.idHash, secretHash(secret)), gt(webSessions.expiresAt, sql`now()`)));
  return row
    ? { login: row.login, userId: row.userId, repos: row.repos, expiresAt: row.expiresAt }
    : undefined;
}

export async function endSession(db: Db, secret: string): Promise<void> {
  await db.delete(webSessions).where(eq(webSessions.idHash, secretHash(secret)));
}

export type ApiToken = { id: number; name: string; repos: string[] | null; canWrite: boolean };

/** Issues an API token; returns it (shown once, never stored). */
export async function createApiToken(
  db: Db,
  token: { name: string; repos: readonly string[] | null; canWrite: boolean },
): Promise<{ id: number; token: string }> {
  const secret = newSecret("drv_");
  const [row] = await db
    .insert(apiTokens)
    .values({
      name: token.name,
      tokenHash: secretHash(secret),
      repos: token.repos ? token.repos.map((repo) => repo.toLowerCase()) : null,
      canWrite: token.canWrite,
    })
    .returning({ id: apiTokens.id });
  if (!row) throw new Error("the token was not recorded");
  return { id: row.id, token: secret };
}

/** The live (not revoked) token `secret` is, marking it used. */
export async function findApiToken(db: Db, secret: string): Promise<ApiToken | undefined> {
  const [row] = await db
    .update(apiTokens)
    .set({ lastUsedAt: sql`now()` })
    .where(and(eq(apiTokens.tokenHash, secretHash(secret)), isNull(apiTokens.revokedAt)))
    .returning();
  return row ? { id: row.id, name: row.name, repos: row.repos ?? null, canWrite: row.canWrite } : undefined;
}

export async function listApiTokens(db: Db) {
  return db.select().from(apiTokens).orderBy(apiTokens.id);
}

/** Revokes token `id`; false when there is no such live token. */
export async function revokeApiToken(db: Db, id: number): Promise<boolean> {
  const rows = await db
    .update(apiTokens)
    .set({ revokedAt: sql`now()` })
    .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt)))
    .returning({ id: apiTokens.id });
  return rows.length === 1;
}
