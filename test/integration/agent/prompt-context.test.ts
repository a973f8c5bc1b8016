import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { gatherPromptInput } from "../../../jobs/prompt-context.ts";
import { buildPrompt } from "../../../src/agent/prompt.ts";
import { DroverConfig } from "../../../src/config/schema.ts";
import type { Attempt } from "../../../src/db/attempt-record.ts";
import { getAttempt } from "../../../src/db/attempts.ts";
import type { Db } from "../../../src/db/client.ts";
import { blockersOf, recentTasks } from "../../../src/db/prompt-context.ts";
import { getRepository } from "../../../src/db/repositories.ts";
import { attempts, dependencies, issues, repositories, tasks } from "../../../src/db/schema.ts";
import type { Task } from "../../../src/db/tasks.ts";
import { STATUS_MARKER } from "../../../src/github/comments.ts";
import { writersComments } from "../../../src/github/discussion.ts";
import { issueFacts } from "../../../src/github/read-issues.ts";
import { useTestDatabase } from "../../helpers/db.ts";
import { createHarness, type Harness } from "../../helpers/drover.ts";
import { GITHUB_API, mockInstallationToken, useGitHubMock } from "../../helpers/github.ts";
import { issueJson, mockPermission, type Scope } from "../../helpers/github-flows.ts";
import { commentReply } from "../../helpers/github-replies.ts";

const REPO = { id: 6160, fullName: "octo-org/widgets", installationId: 77 };
const OTHER_REPO = { id: 6161, fullName: "octo-org/gadgets", installationId: 77 };
const PATH = `/repos/${REPO.fullName}`;
const TRIGGER = new Date("2026-11-10T12:00:00Z");
const at = (hoursBefore: number) => new Date(TRIGGER.getTime() - hoursBefore * 3_600_000);
const config = DroverConfig.parse({ task_context_count: 2, guidelines: "Keep functions small." });

/**
 * What the prompt is gathered from: recent tasks and blockers in PostgreSQL, and the issue's comments by
 * people with write access on GitHub.
 */
describe("prompt context", () => {
  const testDb = useTestDatabase();
  const github = useGitHubMock();
  let harness: Harness | undefined;
  let current: { task: Task; attempt: Attempt };
  let taskIds: Map<number, number>;

  beforeAll(async () => {
    ({ taskIds, ...current } = await seed(testDb.database().db));
  });
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });
  /** The installation's client, as jobs get it (the queue harness is made only for tests that talk to GitHub). */
  const installationOctokit = () => {
    harness = createHarness({ database: testDb.database(), home: "/tmp/drover-prompt-context-test" });
    return harness.deps.github.installation(REPO.installationId);
  };

  describe("recentTasks", () => {
    it("gives the latest finished tasks of the repository, newest first, with their latest attempt's verdict", async () => {
      const db = testDb.database().db;
      const rows = await recentTasks(db, { repoId: REPO.id, exceptTaskId: current.task.id, limit: 10 });
      expect(rows.map((row) => [row.number, row.verdict, row.summary])).toEqual([
        [5, "success", "Reviewed, no verdict block."],
        [3, "fail", "Could not find the schema."],
        [2, "pass", "Second try worked."],
        [4, "blocked", "Needs a decision on the API."],
      ]);
      expect(rows[2]).toMatchObject({ prNumber: 30, completedAt: at(20) });
      // A failed task has no done time: its attempt's finish time stands for it.
      expect(rows[1]?.completedAt).toEqual(at(10));
    });

    it("stops at the limit, gives nothing for a limit of 0, and leaves out the task being run", async () => {
      const db = testDb.database().db;
      const two = await recentTasks(db, { repoId: REPO.id, exceptTaskId: current.task.id, limit: 2 });
      expect(two.map((row) => row.number)).toEqual([5, 3]);
      expect(await recentTasks(db, { repoId: REPO.id, exceptTaskId: current.task.id, limit: 0 })).toEqual([]);
      const withoutFive = await recentTasks(db, {
        repoId: REPO.id,
        exceptTaskId: taskIds.get(5) ?? 0,
        limit: 2,
      });
      expect(withoutFive.map((row) => row.number)).toEqual([3, 2]);
    });
  });

  describe("blockersOf", () => {
    it("gives each blocker once, with its task's pull request, latest summary and commits", async () => {
      const rows = await blockersOf(testDb.database().db, "octo-org/widgets#12");
      expect(rows).toEqual([
        {
          repoFullName: "octo-org/widgets",
          number: 2,
          title: "Set up the package",
          state: "done",
          prNumber: 30,
          verdict: "pass",
          summary: "Second try worked.",
          baseSha: "a".repeat(40),
          headSha: "b".repeat(40),
          diffStat: " src/index.js | 1 +\n 1 file changed, 1 insertion(+)",
        },
        {
          repoFullName: "other-org/place",
          number: 45,
          title: "Decide the API",
          state: "closed",
          prNumber: null,
          verdict: null,
          summary: null,
          baseSha: null,
          headSha: null,
          diffStat: null,
        },
      ]);
      expect(await blockersOf(testDb.database().db, "octo-org/widgets#2")).toEqual([]);
    });
  });

  describe("writersComments", () => {
    it("keeps writers' comments made before the trigger, reading each author's access once", async () => {
      mockInstallationToken(github.api().persist(), REPO.installationId);
      const api = github.api();
      mockComments(api);
      const octokit = await installationOctokit();

      const comments = await writersComments(octokit, { owner: "octo-org", repo: "widgets" }, 12, TRIGGER);

      expect(comments.map((c) => [c.author, c.permission, c.body])).toEqual([
        ["mona", "admin", "Use the logger."],
        ["carol", "maintain", "Export it too."],
        ["mona", "admin", "And keep it short."],
      ]);
      expect(comments[0]).toMatchObject({
        id: 1,
        createdAt: at(5),
        url: "https://github.com/octo-org/widgets/issues/12#issuecomment-1",
      });
    });
  });

  describe("gatherPromptInput", () => {
    it("gathers what buildPrompt shows for the attempt", async () => {
      mockInstallationToken(github.api().persist(), REPO.installationId);
      const api = github.api();
      mockComments(api);
      const db = testDb.database().db;
      const octokit = await installationOctokit();
      const repository = await getRepository(db, REPO.id);
      if (!repository) throw new Error("repository not seeded");
      const issue = issueFacts(
        issueJson({
          number: 12,
          title: "Add a greeting",
          body: "Add greet().",
          repo: REPO.fullName,
        }) as Parameters<typeof issueFacts>[0],
      );

      const input = await gatherPromptInput(
        { db },
        { ...current, repository, issue, config, octokit, now: TRIGGER },
      );

      expect(input).toMatchObject({
        repoFullName: "octo-org/widgets",
        branch: "drover/12-add-a-greeting",
        baseBranch: "main",
        guidelines: "Keep functions small.",
        serverUrl: "https://github.com",
        issue: { number: 12, title: "Add a greeting", body: "Add greet().", author: "hubber" },
        guidance: [],
        limits: {
          maxDescriptionSize: 250_000,
          taskContextCount: 2,
        },
      });
      expect(input.recentTasks?.map((t) => t.number)).toEqual([5, 3]);
      expect(input.comments?.map((c) => c.author)).toEqual(["mona", "carol", "mona"]);
      expect(input.blockers?.map((b) => [b.repoFullName, b.number, b.diff?.headSha ?? null])).toEqual([
        ["octo-org/widgets", 2, "b".repeat(40)],
        ["other-org/place", 45, null],
      ]);

      const prompt = buildPrompt(input);
      expect(prompt).toContain("## Project guidelines\n\nKeep functions small.");
      expect(prompt).toContain("#5 Review only\n  success, finished 2026-11-10 10:00 UTC, 2 hours ago");
      expect(prompt).toContain("Comment by @carol (maintain), 2026-11-10 09:00 UTC:");
      expect(prompt).toContain("### #2: done, pull request #30");
      expect(prompt).toContain(`\`git diff ${"a".repeat(40)}...${"b".repeat(40)}\``);
      expect(prompt).toContain("### other-org/place#45: closed\n\nTitle: Decide the API");
      expect(prompt).not.toContain("Too late");
      expect(prompt).not.toContain("reader's opinion");
    });
  });
});

/**
 * Two pages of comments on #12, oldest first: the first has writers, a reader, a bot, Drover's status
 * comment and a deleted user; the second starts before the trigger and ends after it, so there is no
 * reading a third page (nock fails the test on a request nobody mocked).
 */
function mockComments(api: Scope): void {
  const comment = (
    id: number,
    login: string,
    body: string,
    hoursBefore: number,
    type: "User" | "Bot" = "User",
  ) =>
    commentReply({
      id,
      body,
      issue: 12,
      by: { login, id: id + 1000, type },
      repo: REPO.fullName,
      at: at(hoursBefore).toISOString(),
    });
  const next = `${GITHUB_API}/repositories/${REPO.id}/issues/12/comments?per_page=100&page=2`;
  const third = `${GITHUB_API}/repositories/${REPO.id}/issues/12/comments?per_page=100&page=3`;
  api
    .get(`${PATH}/issues/12/comments`)
    .query({ per_page: 100 })
    .reply(
      200,
      [
        comment(1, "mona", "Use the logger.", 5),
        comment(2, "reader", "A reader's opinion.", 4.5),
        comment(3, "drover-test[bot]", `${STATUS_MARKER}\n### Drover: Running`, 4, "Bot"),
        comment(4, "someone", `${STATUS_MARKER}\nA copy of the status comment.`, 3.5),
        comment(5, "ghost", "From a deleted account.", 3.2),
        comment(6, "carol", "Export it too.", 3),
      ],
      { link: `<${next}>; rel="next"` },
    );
  api
    .get(`/repositories/${REPO.id}/issues/12/comments`)
    .query({ per_page: 100, page: 2 })
    .reply(
      200,
      [comment(7, "mona", "And keep it short.", 1), comment(8, "mona", "Too late for this run.", -1)],
      {
        link: `<${third}>; rel="next"`,
      },
    );
  mockPermission(api, "mona", "admin");
  mockPermission(api, "reader", "read");
  mockPermission(api, "carol", "write", "maintain");
  api.get(`${PATH}/collaborators/ghost/permission`).reply(404, { message: "Not Found" });
}

async function seed(db: Db) {
  const repo = { cloneUrl: "file:///nowhere", defaultBranch: "main" };
  await db.insert(repositories).values([
    { ...REPO, ...repo },
    { ...OTHER_REPO, ...repo },
  ]);
  const taskConfig = DroverConfig.parse({});
  const newTask = (
    repoId: number,
    number: number,
    title: string,
    fields: Partial<typeof tasks.$inferInsert>,
  ) => ({
    repoId,
    issueNumber: number,
    title,
    state: "done" as const,
    createdBy: "hubber",
    branch: `drover/${number}`,
    config: taskConfig,
    ...fields,
  });
  const rows = await db
    .insert(tasks)
    .values([
      newTask(REPO.id, 2, "Set up the package", { prNumber: 30, doneAt: at(20), attemptCount: 2 }),
      newTask(REPO.id, 3, "Read the config", { state: "failed", attemptCount: 1 }),
      newTask(REPO.id, 4, "Pick an API", { state: "blocked", attemptCount: 1 }),
      newTask(REPO.id, 5, "Review only", { state: "review", prNumber: 33, attemptCount: 1 }),
      newTask(REPO.id, 6, "Still running", { state: "running", attemptCount: 1 }),
      newTask(REPO.id, 7, "Cancelled", { state: "cancelled", attemptCount: 1 }),
      newTask(REPO.id, 12, "Add a greeting", {
        state: "running",
        attemptCount: 1,
        branch: "drover/12-add-a-greeting",
      }),
      // Same number, another repository: neither a recent task of this one nor the blocker #2.
      newTask(OTHER_REPO.id, 2, "Gadget setup", { doneAt: at(0.1), prNumber: 99, attemptCount: 1 }),
    ])
    .returning();
  const id = (repoId: number, number: number) => {
    const row = rows.find((r) => r.repoId === repoId && r.issueNumber === number);
    if (!row) throw new Error(`task ${number} not seeded`);
    return row.id;
  };
  const finished = (
    taskId: number,
    number: number,
    hoursBefore: number,
    fields: Partial<typeof attempts.$inferInsert>,
  ) => ({
    taskId,
    number,
    state: "finished" as const,
    triggeredBy: "mona",
    finishedAt: at(hoursBefore),
    createdAt: at(hoursBefore + 1),
    ...fields,
  });
  const attemptRows = await db
    .insert(attempts)
    .values([
      finished(id(REPO.id, 2), 1, 30, { verdict: { status: "fail" }, summary: "First try failed." }),
      finished(id(REPO.id, 2), 2, 22, {
        verdict: { status: "pass" },
        conclusion: "success",
        summary: "Second try worked.",
        baseSha: "a".repeat(40),
        headSha: "b".repeat(40),
        diffStat: " src/index.js | 1 +\n 1 file changed, 1 insertion(+)",
      }),
      // Its pull request then followed main: a merge attempt, whose "merged main" says nothing of the work.
      finished(id(REPO.id, 2), 3, 21, {
        conclusion: "success",
        summary: "Merged `main` into drover/2 cleanly.",
        start: { from: "branch", cause: "update", by: "mona", merge: { branch: "main" } },
        baseSha: "a".repeat(40),
        headSha: "c".repeat(40),
      }),
      finished(id(REPO.id, 3), 1, 10, { verdict: { status: "fail" }, summary: "Could not find the schema." }),
      finished(id(REPO.id, 4), 1, 40, {
        verdict: { status: "blocked" },
        summary: "Needs a decision on the API.",
      }),
      finished(id(REPO.id, 5), 1, 2, { conclusion: "success", summary: "Reviewed, no verdict block." }),
      { taskId: id(REPO.id, 6), number: 1, state: "running" as const, triggeredBy: "mona" },
      finished(id(REPO.id, 7), 1, 0.5, { conclusion: "neutral", summary: "Cancelled." }),
      {
        taskId: id(REPO.id, 12),
        number: 1,
        state: "running" as const,
        triggeredBy: "mona",
        createdAt: TRIGGER,
      },
      finished(id(OTHER_REPO.id, 2), 1, 0.2, { verdict: { status: "pass" }, summary: "Elsewhere." }),
    ])
    .returning();
  // other-org/place#45 is an issue Drover knows only as a blocker: no repository row, no task.
  await db.insert(issues).values([
    {
      key: "octo-org/widgets#2",
      installationId: 77,
      repoFullName: "octo-org/widgets",
      number: 2,
      title: "Set up the package",
      state: "closed",
      closedAs: "completed",
    },
    {
      key: "other-org/place#45",
      installationId: 77,
      repoFullName: "other-org/place",
      number: 45,
      title: "Decide the API",
      state: "closed",
      closedAs: "completed",
    },
    {
      key: "octo-org/widgets#12",
      installationId: 77,
      repoFullName: "octo-org/widgets",
      number: 12,
      title: "Add a greeting",
    },
  ]);
  await db.insert(dependencies).values([
    { dependent: "octo-org/widgets#12", blocker: "octo-org/widgets#2", source: "native" },
    { dependent: "octo-org/widgets#12", blocker: "octo-org/widgets#2", source: "body" },
    { dependent: "octo-org/widgets#12", blocker: "other-org/place#45", source: "body" },
  ]);
  const task = rows.find((r) => r.issueNumber === 12 && r.repoId === REPO.id);
  const row = attemptRows.find((a) => task && a.taskId === task.id);
  const attempt = row && (await getAttempt(db, row.id));
  if (!task || !attempt) throw new Error("current task not seeded");
  const taskIds = new Map(rows.filter((r) => r.repoId === REPO.id).map((r) => [r.issueNumber, r.id]));
  return { task, attempt, taskIds };
}
