import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATIONS_FOLDER } from "../../../src/db/migrate.ts";
import { TEST_DATABASE_URL } from "../../helpers/services.ts";

/**
 * Attempts recorded before `lost_leases` existed keep their count: the migration counts, as Drover did
 * before, the epochs taken over less those handed back (task.interrupted events), and clears the owner
 * of a lease that was handed back, so its next claim does not count it as lost.
 */
describe("migration 0005 (lost_leases)", () => {
  const name = `drover_test_backfill_${process.pid}`;
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
    journal.entries = journal.entries.filter((entry) => entry.tag < "0005");
    await writeFile(journalPath, JSON.stringify(journal));
  });
  afterAll(async () => {
    await sql.end();
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
    await rm(before, { recursive: true, force: true });
  });

  it("backfills the leases lost, and frees a lease handed back", async () => {
    await migrate(drizzle(sql), { migrationsFolder: before });
    await sql`insert into repositories (id, installation_id, full_name, clone_url, default_branch)
      values (1, 1, 'octo-org/widgets', 'file:///dev/null', 'main')`;
    await sql`insert into tasks (id, repo_id, issue_number, title, state, created_by, branch, config)
      values (1, 1, 1, 'one', 'running', 'mona', 'drover/1-one', '{}'),
             (2, 1, 2, 'two', 'running', 'mona', 'drover/2-two', '{}')`;
    // Attempt 1, at epoch 4: epoch 1 was handed back, epochs 2 and 3 were lost; a worker holds it now.
    // Attempt 2, at epoch 2: epoch 1 was lost; epoch 2 was handed back on shutdown.
    await sql`insert into attempts (id, task_id, number, state, lease_epoch, lease_owner, triggered_by)
      values (1, 1, 1, 'running', 4, 'worker-a', 'mona'), (2, 2, 1, 'running', 2, 'worker-b', 'mona')`;
    await sql`insert into events (task_id, type, data) values
      (1, 'task.interrupted', '{"attemptId": 1, "epoch": 1, "reason": "shutdown"}'),
      (2, 'task.interrupted', '{"attemptId": 2, "epoch": 2, "reason": "shutdown"}')`;

    await migrate(drizzle(sql), { migrationsFolder: MIGRATIONS_FOLDER });

    expect(await sql`select id, lost_leases, lease_owner from attempts order by id`).toEqual([
      { id: 1, lost_leases: 2, lease_owner: "worker-a" },
      { id: 2, lost_leases: 1, lease_owner: null },
    ]);
  });
});
