import { describe, expect, it } from "vitest";
import { announce } from "../../../jobs/announce.ts";
import { openDatabase } from "../../../src/db/client.ts";
import { createHarness } from "../../helpers/drover.ts";
import { mockInstallationToken, useGitHubMock } from "../../helpers/github.ts";
import { REPO_PATH } from "../../helpers/github-flows.ts";
import { TEST_BOT, commentReply, labelsReply } from "../../helpers/github-replies.ts";
import { useMigrationTest } from "../../helpers/migrations.ts";
import { OCTO_REPO } from "../../helpers/payloads.ts";

/**
 * Comment ids kept in `tasks.status_comment_id` and `issues.story_comment_id` before migration 0014 move
 * into `last_written`, the one place they are kept now: a deployed task's status comment is edited in
 * place after the upgrade, not made a second time.
 */
describe("migration 0014 (comment ids in last_written)", () => {
  const { sql, url, migrateBefore, migrateAll } = useMigrationTest("0014");
  const github = useGitHubMock();

  it("copies the comment ids, keeps newer ones, and the next status edits the same comment", async () => {
    await migrateBefore();
    const repo = OCTO_REPO;
    await sql`insert into repositories (id, installation_id, full_name, clone_url, default_branch) values
      (${repo.id}, ${repo.installationId}, ${repo.fullName}, ${repo.cloneUrl}, 'main'),
      (2, ${repo.installationId}, 'Mixed-Case/Repo', 'file:///dev/null', 'main')`;
    await sql`insert into tasks (repo_id, issue_number, title, state, created_by, branch, config,
        status_comment_id, pr_number, attempt_count) values
      (${repo.id}, 5, 'five', 'review', 'mona', 'drover/5-five', '{}', 5005, 105, 1),
      (${repo.id}, 6, 'six', 'review', 'mona', 'drover/6-six', '{}', 6006, 106, 1),
      (2, 1, 'one', 'failed', 'mona', 'drover/1-one', '{}', 1001, null, 1)`;
    await sql`insert into issues (key, installation_id, repo_full_name, number, story_comment_id) values
      ('octo-org/widgets#7', ${repo.installationId}, ${repo.fullName}, 7, 7007)`;
    // Already kept by the version before: a newer status comment for #6, the labels of #7.
    await sql`insert into last_written (key, labels, status_comment_id, status_hash) values
      ('octo-org/widgets#6', '["drover:review"]', 6066, 'h6'), ('octo-org/widgets#7', '[]', null, null)`;

    await migrateAll();

    expect(
      await sql`select key, labels, status_comment_id::integer, status_hash, story_comment_id::integer
        from last_written order by key`,
    ).toEqual([
      {
        key: "mixed-case/repo#1",
        labels: null,
        status_comment_id: 1001,
        status_hash: null,
        story_comment_id: null,
      },
      {
        key: "octo-org/widgets#5",
        labels: null,
        status_comment_id: 5005,
        status_hash: null,
        story_comment_id: null,
      },
      {
        key: "octo-org/widgets#6",
        labels: ["drover:review"],
        status_comment_id: 6066,
        status_hash: "h6",
        story_comment_id: null,
      },
      {
        key: "octo-org/widgets#7",
        labels: [],
        status_comment_id: null,
        status_hash: null,
        story_comment_id: 7007,
      },
    ]);

    // #5 shown after the upgrade: its comment edited in place; its labels (not kept before) read once.
    const database = openDatabase(url, { max: 3 });
    const harness = createHarness({ database, home: "/tmp/drover-migration-0014-test" });
    try {
      mockInstallationToken(github.optional(), repo.installationId);
      const api = github.api();
      const edited: string[] = [];
      api.patch(`${REPO_PATH}/issues/comments/5005`).reply(200, (_uri, body) => {
        edited.push((body as { body: string }).body);
        return commentReply({ id: 5005, issue: 5, by: TEST_BOT, body: (body as { body: string }).body });
      });
      api.get(`${REPO_PATH}/issues/5/labels`).reply(200, labelsReply(["drover", "drover:review"]));
      const [task] = await sql<{ id: number }[]>`select id from tasks where issue_number = 5`;
      await announce(harness.deps, { taskId: task!.id });
      expect(edited).toEqual([expect.stringContaining("ready for review")]);
    } finally {
      await harness.close();
      await database.close();
    }
  });
});
