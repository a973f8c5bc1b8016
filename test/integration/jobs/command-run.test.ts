import { beforeAll, describe, expect, it } from "vitest";
import { announce } from "../../../jobs/announce.ts";
import { commandJob } from "../../../jobs/command.ts";
import { readStart } from "../../../src/db/attempt-start.ts";
import { recordDelivery } from "../../../src/db/deliveries.ts";
import { getIssue } from "../../../src/db/graph-rows.ts";
import { upsertRepository } from "../../../src/db/repositories.ts";
import { getLastWritten } from "../../../src/db/last-written.ts";
import { findTask, getTask, updateTask } from "../../../src/db/tasks.ts";
import { issueKey } from "../../../src/graph/model.ts";
import { useDrover } from "../../helpers/drover.ts";
import { mockInstallationToken } from "../../helpers/github.ts";
import { labelsReply } from "../../helpers/github-replies.ts";
import {
  REPO_PATH,
  issueJson,
  mockConfig,
  mockFirstStatus,
  mockPermission,
  mockSync,
  recorder,
  type Scope,
  type Sent,
  type TestIssue,
} from "../../helpers/github-flows.ts";
import { AUTHOR, MAINTAINER, OCTO_REPO, issueCommentCreated, type TestUser } from "../../helpers/payloads.ts";
import { taskTrigger, triggerShownTask } from "../../helpers/tasks.ts";
import { mockConversation, reactionsOf, recordingQueue } from "./command-mocks.ts";

/**
 * `/drover run` and `/drover priority`: what the label does, done from a comment (the label added by the
 * app, the task credited to the commenter), a story's sub-issues started with their parent, and the
 * priority label. The job runs directly; the scheduling passes it asks for are recorded, not run.
 */
describe("command: run and priority", () => {
  const { db, harness, github } = useDrover();

  beforeAll(async () => {
    await upsertRepository(db(), OCTO_REPO);
  });

  async function runJob(issue: number, body: string): Promise<string[]> {
    const deliveryId = `d-run-${issue}`;
    await recordDelivery(db(), {
      id: deliveryId,
      event: "issue_comment",
      action: "created",
      installationId: OCTO_REPO.installationId,
      repoFullName: OCTO_REPO.fullName,
      payload: issueCommentCreated({
        number: issue,
        body,
        commentId: 50_000 + issue,
        title: `Issue ${issue}`,
      }),
    });
    const { deps, enqueued } = recordingQueue(harness().deps);
    await commandJob(deps, { deliveryId });
    return enqueued;
  }

  /** The app adding labels to issue `issue`, recorded in `sent.added`. */
  function mockAddLabel(scope: Scope, sent: Sent, issue: number): void {
    scope.post(`${REPO_PATH}/issues/${issue}/labels`).reply(200, (_uri, body) => {
      const labels = (body as { labels: string[] }).labels;
      sent.added.push(labels);
      return labelsReply(labels);
    });
  }

  it("starts an issue that is not a task: the label added by the app, the task credited to the commenter", async () => {
    const api = github.api();
    const sent = recorder();
    mockInstallationToken(github.optional(), OCTO_REPO.installationId);
    const talk = mockConversation(github, { issue: 998, statusCommentId: 9998, replyOn: 999 });
    mockPermission(api, MAINTAINER.login, "write");
    mockConfig(api, "label: drover\n");
    mockAddLabel(api, sent, 301);
    mockSync(api, { number: 301, title: "Issue 301", labels: ["drover"] });

    const enqueued = await runJob(301, "/drover run");

    const task = await findTask(db(), OCTO_REPO.id, 301);
    expect(task).toMatchObject({
      state: "ready",
      createdBy: AUTHOR.login,
      modifiedBy: MAINTAINER.login,
      stateReason: "started by @mona",
    });
    expect(readStart(task?.nextStart)).toBeNull();
    expect(sent.added).toEqual([["drover"]]);
    // Nothing said yet: the scheduling pass knows whether it is ready or waiting, and announces that once.
    expect(sent.comments).toEqual([]);
    if (!task) throw new Error("no task");
    mockFirstStatus(api, sent, 301, 9301);
    await announce(harness().deps, { taskId: task.id });
    expect(sent.comments.map((c) => c.body)).toEqual([expect.stringContaining("Ready")]);
    // The next status edits that comment.
    expect((await getLastWritten(db(), issueKey(OCTO_REPO.fullName, 301)))?.statusCommentId).toBe(9301);
    expect(reactionsOf(talk)).toEqual(["eyes", "rocket"]);
    expect(talk.replies).toEqual([]);
    expect(enqueued).toContain("schedule");
  });

  it("starts a task in review again on top of its pull request (from the branch, cause run)", async () => {
    const trigger = await triggerShownTask(db(), {
      ...taskTrigger(302, { title: "Issue 302" }),
      statusCommentId: 9302,
    });
    if (trigger.kind !== "created") throw new Error("not created");
    await updateTask(db(), trigger.task.id, { state: "review", prNumber: 1302, attemptCount: 1 });
    const api = github.api();
    mockInstallationToken(github.optional(), OCTO_REPO.installationId);
    // Reactions, the label added, the status comment edited and the review label taken off.
    const talk = mockConversation(github, {
      issue: 302,
      statusCommentId: 9302,
      labels: ["drover", "drover:review"],
    });
    mockPermission(api, MAINTAINER.login, "write", "maintain");
    mockConfig(api, "label: drover\n");
    mockSync(api, { number: 302, title: "Issue 302", labels: ["drover", "drover:review"] });

    const enqueued = await runJob(302, "/drover run");

    const task = await getTask(db(), trigger.task.id);
    expect(task).toMatchObject({ state: "ready", modifiedBy: MAINTAINER.login, prNumber: 1302 });
    expect(readStart(task?.nextStart)).toEqual({ from: "branch", cause: "run", by: MAINTAINER.login });
    // The status and labels are the scheduling pass's to announce (its reason moved, so it does).
    await announce(harness().deps, { taskId: trigger.task.id });
    expect([...talk.labels]).toEqual(["drover"]);
    expect(talk.status.comments.at(-1)?.body).toContain("Ready");
    expect(reactionsOf(talk)).toEqual(["eyes", "rocket"]);
    expect(enqueued).toContain("schedule");
  });

  it("refuses to run a task that is already running, saying what would work", async () => {
    const trigger = await triggerShownTask(db(), { ...taskTrigger(303), statusCommentId: 9303 });
    if (trigger.kind !== "created") throw new Error("not created");
    await updateTask(db(), trigger.task.id, { state: "running", attemptCount: 1 });
    mockInstallationToken(github.optional(), OCTO_REPO.installationId);
    const talk = mockConversation(github, { issue: 303, statusCommentId: 9303 });
    mockPermission(github.api(), MAINTAINER.login, "write");

    const enqueued = await runJob(303, "/drover run");

    expect(reactionsOf(talk)).toEqual(["eyes"]);
    expect(talk.replies).toHaveLength(1);
    expect(talk.replies[0]?.body).toContain("`/drover run` did nothing: the task is `running`");
    expect(talk.replies[0]?.body).toContain("`/drover cancel [reason]`");
    expect(enqueued).toEqual([]);
  });

  it("runs a whole story: each open sub-issue, recursively, a task credited to the person who started it", async () => {
    const parent: TestIssue = { number: 310, title: "Issue 310", labels: ["drover"] };
    const childAuthor: TestUser = { login: "writer", id: 777 };
    const child: TestIssue = { number: 311, title: "Child", author: childAuthor };
    const grandchild: TestIssue = { number: 312, title: "Grandchild", author: AUTHOR };
    const closed: TestIssue = {
      number: 313,
      title: "Done already",
      state: "closed",
      stateReason: "completed",
    };
    const api = github.api();
    const sent = recorder();
    mockInstallationToken(github.optional(), OCTO_REPO.installationId);
    const talk = mockConversation(github, { issue: 998, statusCommentId: 9998, replyOn: 999 });
    mockPermission(api, MAINTAINER.login, "admin");
    mockConfig(api, "label: drover\n");
    mockAddLabel(api, sent, 310);
    mockStoryLinks(api, parent, [child, closed], null);
    // The child: read once (nock answers each mock once), labelled, its links read (its own sub-issue).
    mockStoryLinks(api, child, [grandchild], parent);
    mockAddLabel(api, sent, 311);
    // The grandchild likewise, with no sub-issues of its own.
    mockStoryLinks(api, grandchild, [], child);
    mockAddLabel(api, sent, 312);

    await runJob(310, "/drover run");

    expect(await findTask(db(), OCTO_REPO.id, 310)).toMatchObject({
      state: "ready",
      modifiedBy: MAINTAINER.login,
    });
    expect(await findTask(db(), OCTO_REPO.id, 311)).toMatchObject({
      state: "ready",
      createdBy: childAuthor.login,
      createdById: childAuthor.id,
      modifiedBy: MAINTAINER.login,
    });
    // Announced by the scheduling pass that follows, once it knows the state.
    expect(await getLastWritten(db(), issueKey(OCTO_REPO.fullName, 311))).toBeUndefined();
    expect(await findTask(db(), OCTO_REPO.id, 312)).toMatchObject({
      state: "ready",
      createdBy: AUTHOR.login,
      modifiedBy: MAINTAINER.login,
    });
    expect(await findTask(db(), OCTO_REPO.id, 313)).toBeUndefined();
    expect(sent.added).toEqual([["drover"], ["drover"], ["drover"]]);
    expect((await getIssue(db(), issueKey(OCTO_REPO.fullName, 312)))?.parentKey).toBe(
      issueKey(OCTO_REPO.fullName, 311),
    );
    // Read before the app labelled it, recorded with its label all the same.
    expect((await getIssue(db(), issueKey(OCTO_REPO.fullName, 311)))?.labels).toEqual(["drover"]);
    expect(reactionsOf(talk)).toEqual(["eyes", "rocket"]);
  });

  /**
   * An issue's links as sync-issue reads them: the issue, which counts no blockers and `subs` sub-issues
   * and names its parent (so no empty list is read, and the parent is never probed), then `subs` in order.
   */
  function mockStoryLinks(scope: Scope, issue: TestIssue, subs: TestIssue[], parent: TestIssue | null): void {
    const path = `${REPO_PATH}/issues/${issue.number}`;
    scope.get(path).reply(200, {
      ...issueJson(issue),
      sub_issues_summary: { total: subs.length, completed: 0, percent_completed: 0 },
      ...(parent ? { parent_issue_url: `https://api.github.com${REPO_PATH}/issues/${parent.number}` } : {}),
    });
    if (subs.length > 0) scope.get(`${path}/sub_issues`).query(true).reply(200, subs.map(issueJson));
  }

  it("sets the priority label, removing the others, and reads the issue again", async () => {
    const trigger = await triggerShownTask(db(), { ...taskTrigger(320), statusCommentId: 9320 });
    if (trigger.kind !== "created") throw new Error("not created");
    mockInstallationToken(github.optional(), OCTO_REPO.installationId);
    const talk = mockConversation(github, {
      issue: 320,
      statusCommentId: 9320,
      labels: ["drover", "priority: low", "P3", "bug"],
    });
    mockPermission(github.api(), MAINTAINER.login, "write");
    // The issue read again (a task's: its links too), now with its new label.
    mockSync(github.api(), {
      number: 320,
      title: "Task 320",
      labels: ["drover", "bug", "priority: critical"],
    });

    const enqueued = await runJob(320, "/drover priority critical");

    expect([...talk.labels].sort()).toEqual(["bug", "drover", "priority: critical"]);
    expect((await getIssue(db(), issueKey(OCTO_REPO.fullName, 320)))?.labels).toContain("priority: critical");
    expect(reactionsOf(talk)).toEqual(["eyes", "rocket"]);
    expect(talk.replies).toEqual([]);
    expect(enqueued).toContain("schedule");
  });

  it("answers /drover help on an issue that is not a task with what applies there", async () => {
    mockInstallationToken(github.optional(), OCTO_REPO.installationId);
    const talk = mockConversation(github, { issue: 330, statusCommentId: 9330 });
    mockPermission(github.api(), MAINTAINER.login, "write");

    await runJob(330, "/drover help");

    expect(talk.replies).toHaveLength(1);
    const reply = talk.replies[0]?.body ?? "";
    expect(reply).toContain("this issue is not a Drover task");
    expect(reply).toContain("| ✅ | `/drover run` |");
    expect(reply).toContain("|  | `/drover retry [--fresh]` |");
  });
});
