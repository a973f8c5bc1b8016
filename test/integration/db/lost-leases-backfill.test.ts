import { describe, expect, it } from "vitest";
import { useMigrationTest } from "../../helpers/migrations.ts";

/**
 * Attempts recorded before `lost_leases` existed keep their count: the migration counts, as Drover did
 * before, the epochs taken over less those handed back (task.interrupted events), and clears the owner
 * of a lease that was handed back, so its next claim does not count it as lost.
 */
describe("migration 0005 (lost_leases)", () => {
  const { sql, migrateBefore, migrateAll } = useMigrationTest("0005");

  it("backfills the leases lost, and frees a lease handed back", async () => {
    await migrateBefore();
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

    await migrateAll();

    expect(await sql`select id, lost_leases, lease_owner from attempts order by id`).toEqual([
      { id: 1, lost_leases: 2, lease_owner: "worker-a" },
      { id: 2, lost_leases: 1, lease_owner: null },
    ]);
  });
});
