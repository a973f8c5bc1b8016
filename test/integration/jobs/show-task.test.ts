import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { announce } from "../../../jobs/announce.ts";
import { showTask } from "../../../jobs/show-task.ts";
import { getLastWritten } from "../../../src/db/last-written.ts";
import { upsertRepository } from "../../../src/db/repositories.ts";
import { getTask, triggerTask, updateTask } from "../../../src/db/tasks.ts";
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
import { taskTrigger } from "../../helpers/tasks.ts";

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

  it("costs one request per change a person would see: a task's whole life in 8, none read back", async () => {
    const task = await newTask(601);
    const issue = fakeIssue(601, 6601);

    // Queued (the scheduler's first announcement): the comment made, the running label added.
    await updateTask(db(), task.id, { state: "queued", stateReason: null });
    await announce(harness.deps, { taskId: task.id });
    expect(issue.requests).toEqual(["POST comment", "POST labels drover:running"]);

    // The same state announced again (a second announce job, a retried one): nothing is sent.
    await announce(harness.deps, { taskId: task.id });
    expect(issue.requests).toHaveLength(2);

    // Running: the comment edited; drover:running is there already, so no label write.
    await updateTask(db(), task.id, { state: "running", attemptCount: 1 });
    await showTask(
      harness.deps,
      await harness.deps.github.installation(OCTO_REPO.installationId),
      repoRef(OCTO_REPO.fullName),
      task.id,
    );
    expect(issue.requests.slice(2)).toEqual(["PATCH comment"]);

    // Review, then done: the comment edited, the old label off and the new one on; then off.
    await updateTask(db(), task.id, { state: "review", prNumber: 77 });
    await announce(harness.deps, { taskId: task.id });
    await updateTask(db(), task.id, { state: "done", completedBy: "mona" });
    await announce(harness.deps, { taskId: task.id });
    expect(issue.requests.slice(3)).toEqual([
      "PATCH comment",
      "DELETE label drover:running",
      "POST labels drover:review",
      "PATCH comment",
      "DELETE label drover:review",
    ]);
    expect(issue.requests.filter((r) => r.startsWith("GET"))).toEqual([]);
    expect(issue.requests).toHaveLength(8);
    expect([...issue.labels]).toEqual(["drover"]);
    expect((await getTask(db(), task.id))?.statusCommentId).toBe(6601);
  });

  it("adds drover:running once when two jobs show the running task at the same moment", async () => {
    const task = await newTask(602);
    const issue = fakeIssue(602, 6602);
    await updateTask(db(), task.id, { state: "running", attemptCount: 1, stateReason: null });
    const octokit = await harness.deps.github.installation(OCTO_REPO.installationId);

    await Promise.all([
      announce(harness.deps, { taskId: task.id }),
      showTask(harness.deps, octokit, repoRef(OCTO_REPO.fullName), task.id),
      announce(harness.deps, { taskId: task.id }),
    ]);

    expect(issue.requests.filter((r) => r.startsWith("POST labels"))).toEqual(["POST labels drover:running"]);
    expect(issue.requests.filter((r) => r === "POST comment")).toHaveLength(1);
    // The same body three times: sent once.
    expect(issue.requests.filter((r) => r === "PATCH comment")).toHaveLength(0);
  });

  it("leaves off a label a person took off while the state lasts, and writes the next state's labels", async () => {
    const task = await newTask(603);
    const issue = fakeIssue(603, 6603);
    await updateTask(db(), task.id, { state: "running", attemptCount: 1, stateReason: null });
    await announce(harness.deps, { taskId: task.id });
    issue.labels.delete("drover:running");
    const before = issue.requests.length;

    // Still running (a new hint, say, changes the comment): the comment is edited, the label left off.
    await updateTask(db(), task.id, { modifiedBy: "hubot" });
    await announce(harness.deps, { taskId: task.id });
    expect(issue.requests.slice(before)).toEqual(["PATCH comment"]);
    expect(issue.labels.has("drover:running")).toBe(false);

    // Failed: the running label's removal answers 404 (it is gone already), the failed label goes on.
    await updateTask(db(), task.id, { state: "failed" });
    await announce(harness.deps, { taskId: task.id });
    expect(issue.requests.slice(before + 1)).toEqual([
      "PATCH comment",
      "DELETE label drover:running",
      "POST labels drover:failed",
    ]);
    expect([...issue.labels].sort()).toEqual(["drover", "drover:failed"]);
  });

  it("reads the labels once for a task shown before Drover kept what it wrote, then never again", async () => {
    const task = await newTask(604);
    await updateTask(db(), task.id, { state: "review", statusCommentId: 6604, prNumber: 9 });
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

  it("holds back a status edit while the rate limit runs low, still writes the labels, and owes the edit", async () => {
    const task = await newTask(605);
    const issue = fakeIssue(605, 6605);
    const octokit = await harness.deps.github.installation(OCTO_REPO.installationId);
    const repo = repoRef(OCTO_REPO.fullName);
    const show = async (state: "running" | "review", low: boolean) => {
      await updateTask(db(), task.id, { state, attemptCount: 1, prNumber: 5 });
      const current = await getTask(db(), task.id);
      if (!current) throw new Error("no task");
      return publishStatus(db(), octokit, repo, current, statusViewOf(current, null, {}), () => low);
    };
    const id = await show("running", false);
    await updateTask(db(), task.id, { statusCommentId: id });
    const before = issue.requests.length;

    await show("review", true);

    expect(issue.requests.slice(before)).toEqual([
      "DELETE label drover:running",
      "POST labels drover:review",
    ]);
    const written = await getLastWritten(db(), issueKey(OCTO_REPO.fullName, 605));
    expect(written?.owedSince).toBeInstanceOf(Date);

    // The budget recovered: the owed edit is made, and nothing is owed any more.
    await show("review", false);
    expect(issue.requests.slice(before + 2)).toEqual(["PATCH comment"]);
    expect((await getLastWritten(db(), issueKey(OCTO_REPO.fullName, 605)))?.owedSince).toBeNull();
  });
});
