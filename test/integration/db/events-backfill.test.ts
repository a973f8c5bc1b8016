import { describe, expect, it } from "vitest";
import { useMigrationTest } from "../../helpers/migrations.ts";

/**
 * Events written before migration 0016 keep their order as the stream's cursor (seq in id order) and name
 * their task's repository and issue; the next event is placed after them.
 */
describe("migration 0016 (events live)", () => {
  const { sql, migrateBefore, migrateAll } = useMigrationTest("0016");

  it("places old events in id order, names their repository and issue, and new ones after them", async () => {
    await migrateBefore();
    await sql`insert into repositories (id, installation_id, full_name, clone_url, default_branch)
      values (1, 1, 'octo-org/widgets', 'file:///dev/null', 'main')`;
    await sql`insert into tasks (id, repo_id, issue_number, title, state, created_by, branch, config)
      values (1, 1, 12, 'one', 'ready', 'mona', 'drover/12-one', '{}')`;
    const before = await sql<{ id: number }[]>`select id from events where task_id = 1 order by id`;
    await sql`insert into events (task_id, type, actor) values (1, 'task.started', 'mona'), (1, 'pr.opened', null)`;

    await migrateAll();

    const rows = await sql`select type, seq::int, repo, issue from events order by id`;
    expect(rows.slice(before.length)).toEqual([
      { type: "task.started", seq: before.length + 1, repo: "octo-org/widgets", issue: 12 },
      { type: "pr.opened", seq: before.length + 2, repo: "octo-org/widgets", issue: 12 },
    ]);
    await sql`update tasks set state = 'queued' where id = 1`;
    const [next] = await sql`select type, seq::int from events order by id desc limit 1`;
    expect(next).toEqual({ type: "task.queued", seq: before.length + 3 });
  });
});
