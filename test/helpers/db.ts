import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { afterAll, beforeAll } from "vitest";
import { openDatabase, type Database } from "../../src/db/client.ts";
import { migrateDatabase } from "../../src/db/migrate.ts";
import { TEST_DATABASE_URL } from "./services.ts";

/**
 * A fresh, migrated PostgreSQL database for one test file (created before, dropped after), so files run
 * in parallel without seeing each other's rows.
 */
export function useTestDatabase(): { url: () => string; database: () => Database } {
  const name = `drover_test_${randomBytes(6).toString("hex")}`;
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  let database: Database | undefined;
  beforeAll(async () => {
    await migrateDatabase(url.toString());
    database = openDatabase(url.toString(), { max: 5 });
  });
  afterAll(async () => {
    await database?.close();
    const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
  });
  return {
    url: () => url.toString(),
    database: () => {
      if (!database) throw new Error("test database used before beforeAll");
      return database;
    },
  };
}

/**
 * PostgreSQL refusing connections to the database at `url` (those it has are ended), or taking them again:
 * the database gone and back, as a process using it sees it.
 */
export async function setConnectable(url: string, connectable: boolean): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`alter database "${name}" allow_connections ${connectable ? "true" : "false"}`);
    if (!connectable)
      await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${name} and pid <> pg_backend_pid()`;
  } finally {
    await admin.end();
  }
}
