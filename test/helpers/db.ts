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
