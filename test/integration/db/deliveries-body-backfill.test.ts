import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../../src/db/client.ts";
import { closeDeliveryPending, getDelivery } from "../../../src/db/deliveries.ts";
import { MIGRATIONS_FOLDER } from "../../../src/db/migrate.ts";
import { TEST_DATABASE_URL } from "../../helpers/services.ts";

/**
 * Deliveries recorded when the payload was jsonb stay readable: migration 0007 moves each payload into
 * the text column and records the issue number an issues.* delivery is about (where it fits).
 */
describe("migration 0007 (deliveries.body)", () => {
  const name = `drover_test_body_backfill_${process.pid}`;
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
  const sql = postgres(url.toString(), { max: 1, onnotice: () => {} });
  let before: string;

  beforeAll(async () => {
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.unsafe(`create database "${name}"`);
    // The migrations as they were before this one.
    before = await mkdtemp(path.join(os.tmpdir(), "drover-migrations-"));
    await cp(MIGRATIONS_FOLDER, before, { recursive: true });
    const journalPath = path.join(before, "meta", "_journal.json");
    const journal = JSON.parse(await readFile(journalPath, "utf8")) as { entries: { tag: string }[] };
    journal.entries = journal.entries.filter((entry) => entry.tag < "0007");
    await writeFile(journalPath, JSON.stringify(journal));
  });
  afterAll(async () => {
    await sql.end();
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
    await rm(before, { recursive: true, force: true });
  });

  it("keeps old payloads readable and finds an old close by its issue", async () => {
    await migrate(drizzle(sql), { migrationsFolder: before });
    const closed = {
      action: "closed",
      issue: { number: 7, title: "ünïcode ✓" },
      repository: { full_name: "o/r" },
    };
    const odd = { action: "closed", issue: { number: 1e12 } };
    const other = { ref: "refs/heads/main", commits: [{ id: "abc" }] };
    await sql`insert into deliveries (id, event, action, repo_full_name, payload) values
      ('old-close', 'issues', 'closed', 'o/r', ${JSON.stringify(closed)}::jsonb),
      ('old-odd', 'issues', 'closed', 'o/r', ${JSON.stringify(odd)}::jsonb),
      ('old-push', 'push', null, 'o/r', ${JSON.stringify(other)}::jsonb)`;

    await migrate(drizzle(sql), { migrationsFolder: MIGRATIONS_FOLDER });

    const database = openDatabase(url.toString(), { max: 1 });
    try {
      expect(await getDelivery(database.db, "old-close")).toMatchObject({ issueNumber: 7, payload: closed });
      expect(await getDelivery(database.db, "old-odd")).toMatchObject({ issueNumber: null, payload: odd });
      expect(await getDelivery(database.db, "old-push")).toMatchObject({ issueNumber: null, payload: other });
      expect(await closeDeliveryPending(database.db, "O/R", 7)).toBe(true);
      expect(await closeDeliveryPending(database.db, "o/r", 8)).toBe(false);
    } finally {
      await database.close();
    }
  });
});
