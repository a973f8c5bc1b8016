import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { afterAll, beforeAll } from "vitest";
import { MIGRATIONS_FOLDER } from "../../src/db/migrate.ts";
import { TEST_DATABASE_URL } from "./services.ts";

export type MigrationTest = {
  /** A connection to the test's database. */
  sql: postgres.Sql;
  url: string;
  /** Applies the migrations before `tag` (the database as it was before that migration). */
  migrateBefore: () => Promise<void>;
  /** Applies the rest. */
  migrateAll: () => Promise<void>;
};

/**
 * For a test of migration `tag` (e.g. "0005") on rows written before it: a database of its own, and the
 * migrations folder as it was before that migration.
 */
export function useMigrationTest(tag: string): MigrationTest {
  const name = `drover_test_migration_${tag}_${process.pid}`;
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
  const sql = postgres(url.toString(), { max: 1, onnotice: () => {} });
  let before: string | undefined;

  beforeAll(async () => {
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.unsafe(`create database "${name}"`);
    before = await mkdtemp(path.join(os.tmpdir(), "drover-migrations-"));
    await cp(MIGRATIONS_FOLDER, before, { recursive: true });
    const journalPath = path.join(before, "meta", "_journal.json");
    const journal = JSON.parse(await readFile(journalPath, "utf8")) as { entries: { tag: string }[] };
    journal.entries = journal.entries.filter((entry) => entry.tag < tag);
    await writeFile(journalPath, JSON.stringify(journal));
  });
  afterAll(async () => {
    await sql.end();
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
    if (before) await rm(before, { recursive: true, force: true });
  });

  return {
    sql,
    url: url.toString(),
    migrateBefore: async () => {
      if (!before) throw new Error("useMigrationTest's database used before beforeAll");
      await migrate(drizzle(sql), { migrationsFolder: before });
    },
    migrateAll: async () => {
      await migrate(drizzle(sql), { migrationsFolder: MIGRATIONS_FOLDER });
    },
  };
}
