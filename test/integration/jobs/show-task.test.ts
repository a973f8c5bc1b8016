import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { announce } from "../../../jobs/announce.ts";
import { showTask } from "../../../jobs/show-task.ts";
import { getLastWritten } from "../../../src/db/last-written.ts";
import { upsertIssue } from "../../../src/db/graph-rows.ts";
import { upsertRepository } from "../../../src/db/repositories.ts";
import { lastWritten } from "../../../src/db/schema.ts";
import { getTask, triggerTask, updateTask } from "../../../src/db/tasks.ts";
import { STORY_MARKER } from "../../../src/github/comments.ts";
import { publishStatus } from "../../../src/github/issue-status.ts";
import { statusViewOf } from "../../../src/github/render.ts";
import { repoRef } from "../../../src/github/types.ts";
import { issueKey } from "../../../src/graph/model.ts";
import { useTestDatabase } from "../../helpers/db.ts";
import { createHarness, type Harness } from "../../helpers/drover.ts";
import { mockInstallationToken, useGitHubMock } from "../../helpers/github.ts";
import { REPO_PATH } from "../../helpers/github-flows.ts";
import { TEST_BOT, commentReply, labelsReply } from "../../helpers/github-replies.ts";
import { OCTO_REPO } from "../../helpers/payloads.ts";
import { rememberStatusComment, taskTrigger } from "../../helpers/tasks.ts";

/**
 * A task's status comment and labels, written from what Drover last wrote there: counted request by
 * request, since each one spends the installation's rate limit (and each write sends a webhook back).
 */
describe("showing a task on its issue", () => {
  const testDb = useTestDatabase();
  const github = useGitHubMock();
  let harness: Harness;
  const db = () => testDb.database().db;

  beforeAll(async () => {
    await upsertRepository(db(), OCTO_REPO);
  });
  beforeEach(() => {
    harness = createHarness({ database: testDb.database(), home: "/tmp/drover-show-task-test" });
    mockInstallationToken(github.optional(), OCTO_REPO.installationId);
  });
  afterEach(async () => harness.close());

  /**
   * Issue `issue` as GitHub keeps it (its labels, one status comment once made), every request counted by
   * route. A request for anything else fails the test.
   */
  function fakeIssue(issue: number, commentId: number, labels: string[] = ["drover"]) {
    const state = { labels: new Set(labels), bodies: [] as string[], requests: [] as string[] };
    const scope = github.optional();
    const path = `${REPO_PATH}/issues/${issue}`;
    scope.post(`${path}/comments`).reply(201, (_uri, body) => {
      state.requests.push("POST comment");
      state.bodies.push((body as { body: string }).body);
      return commentReply({ id: commentId, issue, by: TEST_BOT, body: (body as { body: string }).body });
    });
    scope.patch(`${REPO_PATH}/issues/comments/${commentId}`).reply(200, (_uri, body) => {
      state.requests.push("PATCH comment");
      state.bodies.push((body as { body: string }).body);
      return commentReply({ id: commentId, issue, by: TEST_BOT, body: (body as { body: string }).body });
    });
    scope.get(`${path}/labels`).reply(200, () => {
      state.requests.push("GET labels");
      return labelsReply([...state.labels]);
    });
    scope.post(`${path}/labels`).reply(200, (_uri, body) => {
      const added = (body as { labels: string[] }).labels;
      state.requests.push(`POST labels ${added.join(",")}`);
      for (const name of added) state.labels.add(name);
      return labelsReply([...state.labels]);
    });
    scope
      .delete((uri) => uri.startsWith(`${path}/labels/`))
      .reply((uri) => {
        const name = decodeURIComponent(uri.slice(`${path}/labels/`.length));
        state.requests.push(`DELETE label ${name}`);
        if (!state.labels.delete(name)) return [404, { message: "Label does not exist" }];
        return [200, labelsReply([...state.labels])];
      });
    return state;
  }

  async function newTask(issue: number) {
    const trigger = await triggerTask(db(), taskTrigger(issue));
    if (trigger.kind !== "created") throw new Error("not created");
    return trigger.task;
  }

  it("costs one request per change a person would see: a task's whole life in 6, none read back", async () => {
    const task = await newTask(601);
    const issue = fakeIssue(601, 6601);

    // Queued (the scheduler's first announcement): the comment made, saying so; no label while it waits.
    await updateTask(db(), task.id, { state: "queued", stateReason: null });
    await announce(harness.deps, { taskId: task.id });
    expect(issue.requests).toEqual(["POST comment"]);
    expect(issue.bodies.at(-1)).toContain("Queued");

    // The same state announced again (a second announce job, a retried one): nothing is sent.
    await announce(harness.deps, { taskId: task.id });
    expect(issue.requests).toHaveLength(1);

    // Running: the comment edited to say so; still no label.
    await updateTask(db(), task.id, { state: "running", attemptCount: 1 });
    await showTask(
      harness.deps,
      await harness.deps.github.installation(OCTO_REPO.installationId),
      repoRef(OCTO_REPO.fullName),
      task.id,
    );
    expect(issue.requests.slice(1)).toEqual(["PATCH comment"]);
    expect(issue.bodies.at(-1)).toContain("Running");
    expect([...issue.labels]).toEqual(["drover"]);

    // Review, then done: the comment edited and the review label on; then the label off.
    await updateTask(db(), task.id, { state: "review", prNumber: 77 });
    await announce(harness.deps, { taskId: task.id });
    await updateTask(db(), task.id, { state: "done", completedBy: "mona" });
    await announce(harness.deps, { taskId: task.id });
    expect(issue.requests.slice(2)).toEqual([
      "PATCH comment",
      "POST labels drover:review",
      "PATCH comment",
      "DELETE label drover:review",
    ]);
    expect(issue.requests.filter((r) => r.startsWith("GET"))).toEqual([]);
    expect(issue.requests).toHaveLength(6);
    expect([...issue.labels]).toEqual(["drover"]);
  });

  it("keeps editing the same status comment after a restart", async () => {
    const task = await newTask(606);
    const issue = fakeIssue(606, 6606);
    await updateTask(db(), task.id, { state: "queued", stateReason: null });
    await announce(harness.deps, { taskId: task.id });

    // A new process (nothing kept in memory) shows the next state: an edit of that comment, nothing read.
    await harness.close();
    harness = createHarness({ database: testDb.database(), home: "/tmp/drover-show-task-test" });
    await updateTask(db(), task.id, { state: "running", attemptCount: 1 });
    await announce(harness.deps, { taskId: task.id });

    expect(issue.requests).toEqual(["POST comment", "PATCH comment"]);
    expect(issue.bodies.at(-1)).toContain("Running");
  });

  it("keeps a story's checklist in one comment on its parent, edited in place, after a restart too", async () => {
    const parent = issueKey(OCTO_REPO.fullName, 620);
    const issueRow = (number: number, title: string, subOrder?: number) => ({
      key: issueKey(OCTO_REPO.fullName, number),
      installationId: OCTO_REPO.installationId,
      repoFullName: OCTO_REPO.fullName,
      number,
      title,
      ...(subOrder === undefined ? {} : { parentKey: parent, subOrder }),
    });
    await upsertIssue(db(), issueRow(620, "The story"));
    await upsertIssue(db(), issueRow(621, "Task 621", 0));
    await upsertIssue(db(), issueRow(622, "Not a task", 1));
    const task = await newTask(621);
    fakeIssue(621, 6621);
    const story = fakeIssue(620, 6620);

    await updateTask(db(), task.id, { state: "queued", stateReason: null });
    await announce(harness.deps, { taskId: task.id });
    expect(story.requests).toEqual(["POST comment"]);
    expect(story.bodies[0]).toContain(STORY_MARKER);

    // A new process shows the child running: the checklist is edited, not made again.
    await harness.close();
    harness = createHarness({ database: testDb.database(), home: "/tmp/drover-show-task-test" });
    await updateTask(db(), task.id, { state: "running", attemptCount: 1 });
    await announce(harness.deps, { taskId: task.id });
    expect(story.requests).toEqual(["POST comment", "PATCH comment"]);
    expect(story.bodies[1]).toContain("running");
  });

  it("adds drover:review once when two jobs show the task in review at the same moment", async () => {
    const task = await newTask(602);
    const issue = fakeIssue(602, 6602);
    await updateTask(db(), task.id, { state: "review", attemptCount: 1, prNumber: 3, stateReason: null });
    const octokit = await harness.deps.github.installation(OCTO_REPO.installationId);

    await Promise.all([
      announce(harness.deps, { taskId: task.id }),
      showTask(harness.deps, octokit, repoRef(OCTO_REPO.fullName), task.id),
      announce(harness.deps, { taskId: task.id }),
    ]);

    expect(issue.requests.filter((r) => r.startsWith("POST labels"))).toEqual(["POST labels drover:review"]);
    expect(issue.requests.filter((r) => r === "POST comment")).toHaveLength(1);
    // The same body three times: sent once.
    expect(issue.requests.filter((r) => r === "PATCH comment")).toHaveLength(0);
  });

  it("leaves off a label a person took off while the state lasts, and writes the next state's labels", async () => {
    const task = await newTask(603);
    const issue = fakeIssue(603, 6603);
    await updateTask(db(), task.id, { state: "blocked", attemptCount: 1, stateReason: "needs a key" });
    await announce(harness.deps, { taskId: task.id });
    issue.labels.delete("drover:blocked");
    const before = issue.requests.length;

    // Still blocked (a new hint, say, changes the comment): the comment is edited, the label left off.
    await updateTask(db(), task.id, { modifiedBy: "hubot" });
    await announce(harness.deps, { taskId: task.id });
    expect(issue.requests.slice(before)).toEqual(["PATCH comment"]);
    expect(issue.labels.has("drover:blocked")).toBe(false);

    // Cancelled: the blocked label's removal answers 404 (it is gone already), the cancelled label goes on.
    await updateTask(db(), task.id, { state: "cancelled" });
    await announce(harness.deps, { taskId: task.id });
    expect(issue.requests.slice(before + 1)).toEqual([
      "PATCH comment",
      "DELETE label drover:blocked",
      "POST labels drover:cancelled",
    ]);
    expect([...issue.labels].sort()).toEqual(["drover", "drover:cancelled"]);
  });

  it("reads the labels once for a task shown before Drover kept what it wrote, then never again", async () => {
    const task = await newTask(604);
    await updateTask(db(), task.id, { state: "review", prNumber: 9 });
    await rememberStatusComment(db(), OCTO_REPO.fullName, 604, 6604);
    const issue = fakeIssue(604, 6604, ["drover", "drover:review"]);

    await announce(harness.deps, { taskId: task.id });
    await updateTask(db(), task.id, { state: "done" });
    await announce(harness.deps, { taskId: task.id });

    expect(issue.requests).toEqual([
      "PATCH comment",
      "GET labels",
      "PATCH comment",
      "DELETE label drover:review",
    ]);
  });

  it("takes off drover:running, left by an older Drover, at the task's next change of state", async () => {
    // One shown while Drover kept the labels it wrote, one shown before that (only its comment is known).
    const kept = await newTask(607);
    const older = await newTask(608);
    await db()
      .insert(lastWritten)
      .values({ key: issueKey(OCTO_REPO.fullName, 607), labels: ["drover:running"], statusCommentId: 6607 });
    await rememberStatusComment(db(), OCTO_REPO.fullName, 608, 6608);
    const issues = [
      fakeIssue(607, 6607, ["drover", "drover:running"]),
      fakeIssue(608, 6608, ["drover", "drover:running"]),
    ];

    for (const task of [kept, older]) {
      await updateTask(db(), task.id, { state: "review", attemptCount: 1, prNumber: task.issueNumber + 100 });
      await announce(harness.deps, { taskId: task.id });
    }

    expect(issues[0]?.requests).toEqual([
      "PATCH comment",
      "DELETE label drover:running",
      "POST labels drover:review",
    ]);
    expect(issues[1]?.requests).toEqual([
      "PATCH comment",
      "GET labels",
      "DELETE label drover:running",
      "POST labels drover:review",
    ]);
    for (const issue of issues) expect([...issue.labels].sort()).toEqual(["drover", "drover:review"]);
  });

  it("holds back a status edit while the rate limit runs low, still writes the labels, and owes the edit", async () => {
    const task = await newTask(605);
    const issue = fakeIssue(605, 6605);
    const octokit = await harness.deps.github.installation(OCTO_REPO.installationId);
    const repo = repoRef(OCTO_REPO.fullName);
    // Asked for the installation the client acts for.
    const asked: number[] = [];
    const show = async (state: "running" | "review", low: boolean) => {
      await updateTask(db(), task.id, { state, attemptCount: 1, prNumber: 5 });
      const current = await getTask(db(), task.id);
      if (!current) throw new Error("no task");
      return publishStatus(
        db(),
        octokit,
        repo,
        current,
        statusViewOf(current, null, {}),
        (installationId) => {
          asked.push(installationId);
          return low;
        },
      );
    };
    await show("running", false);
    const before = issue.requests.length;

    await show("review", true);

    expect(issue.requests.slice(before)).toEqual(["POST labels drover:review"]);
    expect(asked).toEqual([OCTO_REPO.installationId]);
    const written = await getLastWritten(db(), issueKey(OCTO_REPO.fullName, 605));
    expect(written?.owedSince).toBeInstanceOf(Date);

    // The budget recovered: the owed edit is made, and nothing is owed any more.
    await show("review", false);
    expect(issue.requests.slice(before + 1)).toEqual(["PATCH comment"]);
    expect(issue.bodies.at(-1)).toContain("ready for review");
    expect((await getLastWritten(db(), issueKey(OCTO_REPO.fullName, 605)))?.owedSince).toBeNull();
  });
});
