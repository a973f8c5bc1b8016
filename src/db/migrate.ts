import path from "node:path";
import { fileURLToPath } from "node:url";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { openDatabase } from "./client.ts";
import { redactUrl } from "../lib/redact-url.ts";

export const MIGRATIONS_FOLDER = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../migrations",
);

/** Any fixed number: web and worker processes starting together take turns migrating. */
const MIGRATION_LOCK = 7_236_001;
/** With the database name's hash: processes starting together take turns creating it. */
const CREATE_LOCK = 7_236_002;

export class DatabaseUnreachableError extends Error {
  override name = "DatabaseUnreachableError";
}

/**
 * Creates the database when the server has none of that name (a fresh machine), then applies the
 * migrations under an advisory lock. Throws DatabaseUnreachableError with a line a person can act on.
 */
export async function migrateDatabase(url: string): Promise<void> {
  await ensureDatabaseExists(url);
  const { db, sql, close } = openDatabase(url, { max: 1 });
  try {
    try {
      await sql`select pg_advisory_lock(${MIGRATION_LOCK})`;
    } catch (error) {
      // The first query is where a wrong user, password or database name shows; say so in one line.
      if (isConnectionError(error) || isPermissionError(error)) {
        throw new DatabaseUnreachableError(
          `PostgreSQL at ${redactUrl(url)} refused Drover: ${(error as Error).message}. Check the user, password and database in DATABASE_URL.`,
          { cause: error },
        );
      }
      throw error;
    }
    await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
    await sql`select pg_advisory_unlock(${MIGRATION_LOCK})`;
  } finally {
    await close();
  }
}

async function ensureDatabaseExists(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const adminUrl = new URL(url);
  adminUrl.pathname = "/postgres";
  const admin = postgres(adminUrl.toString(), { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    const exists = async () => (await admin`select 1 from pg_database where datname = ${name}`).length > 0;
    if (await exists()) return;
    // Processes starting together on a fresh machine take turns (the lock lives in the maintenance
    // database, which they all share); the one that loses the race finds the database made and goes on.
    await admin`select pg_advisory_lock(${CREATE_LOCK}, hashtext(${name}))`;
    try {
      if (!(await exists())) await admin.unsafe(`create database "${name.replaceAll('"', '""')}"`);
    } catch (error) {
      // A process of an older version, which does not take the lock, made it first.
      if (!isDuplicateDatabase(error)) throw error;
    } finally {
      await admin`select pg_advisory_unlock(${CREATE_LOCK}, hashtext(${name}))`;
    }
  } catch (error) {
    if (isConnectionError(error)) {
      throw new DatabaseUnreachableError(
        `PostgreSQL is not reachable at ${redactUrl(url)}. Start it (e.g. pg_ctlcluster 15 main start) or set DATABASE_URL.`,
        { cause: error },
      );
    }
    // No access to the maintenance database (a managed service): the named database must already exist.
    if (!isPermissionError(error)) throw error;
  } finally {
    await admin.end({ timeout: 5 });
  }
}

function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return ["ECONNREFUSED", "ENOTFOUND", "ETIMEDOUT", "CONNECT_TIMEOUT", "EHOSTUNREACH", "ECONNRESET"].includes(
    code ?? "",
  );
}

function isDuplicateDatabase(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  // duplicate_database, or the catalog's unique index when two CREATE DATABASEs cross
  return code === "42P04" || code === "23505";
}

function isPermissionError(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  // insufficient_privilege, invalid_catalog_name, invalid_authorization_specification, invalid_password
  return code === "42501" || code === "3D000" || code === "28000" || code === "28P01";
}

/** Drops the database `url` names (for throwaway databases such as the demo's), closing its connections. */
export async function dropDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const adminUrl = new URL(url);
  adminUrl.pathname = "/postgres";
  const admin = postgres(adminUrl.toString(), { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists "${name.replaceAll('"', '""')}" with (force)`);
  } catch (error) {
    if (isConnectionError(error)) {
      throw new DatabaseUnreachableError(
        `PostgreSQL is not reachable at ${redactUrl(url)}. Start it (e.g. pg_ctlcluster 15 main start) or set DATABASE_URL.`,
        { cause: error },
      );
    }
    throw error;
  } finally {
    await admin.end({ timeout: 5 });
  }
}
