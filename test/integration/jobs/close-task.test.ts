import { readFile } from "node:fs/promises";
import path from "node:path";
import { and, eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { closeTask } from "../../../jobs/close-task.ts";
import { syncIssue } from "../../../jobs/sync-issue.ts";
import { getDelivery, recordDelivery } from "../../../src/db/deliveries.ts";
import { upsertRepository } from "../../../src/db/repositories.ts";
import { events } from "../../../src/db/schema.ts";
import { concludeAttempt } from "../../../src/db/attempts.ts";
import { transitionTask } from "../../../src/db/tasks.ts";
import { useDrover } from "../../helpers/drover.ts";
import { claimedTask } from "../../helpers/tasks.ts";
import { mockInstallationToken } from "../../helpers/github.ts";
import {
  agentConfig,
  mockClosed,
  mockConfig,
  mockFirstStatus,
  mockDiscussion,
  mockIdentity,
  mockIssue,
  mockIssueState,
  mockLabels,
  mockPatch,
  mockPermission,
  mockSync,
  originBranches,
  recorder,
  runDirs,
  taskOf,
  type Sent,
} from "../../helpers/github-flows.ts";
import {
  MAINTAINER,
  OCTO_REPO,
  issueClosed,
  issueLabeled,
  issueUnlabeled,
  type TestUser,
} from "../../helpers/payloads.ts";

/**
 * close-task: an issue closed while its pull request is in review. "Not planned" cancels the task,
 * "completed" makes it done and credits the closer; the status comment and the state label follow.
 * The delivery also queues a sync-issue job, which records the issue from the payload (no request) and
 * leaves finishing the task to close-task.
 */
describe("close-task", () => {
  const { db, harness, sandbox, repo, github } = useDrover();
  const closer: TestUser = { login: "closer", id: 404 };

  beforeAll(async () => {
    await upsertRepository(db(), repo());
  });

  /** A task whose pull request is open for review, as run-task and publish leave it. */
  async function taskInReview(issue: number, commentId: number): Promise<number> {
    const { taskId, lease } = await claimedTask(db(), issue, "earlier-worker", {
      statusCommentId: commentId,
    });
    const concluded = await concludeAttempt(
      db(),
      lease,
      { conclusion: "success", reason: "the agent reported success", summary: "Added CHANGED.md" },
      {
        from: ["running"],
        to: "review",
        fields: { stateReason: null, prNumber: issue + 1 },
        cause: {},
      },
    );
    if (!concluded) throw new Error("task did not move to review");
    return taskId;
  }

  /** An `issues.closed` delivery for `issue`, recorded as the webhook handler records it. */
  async function recordClose(id: string, issue: number, stateReason: "completed" | "not_planned") {
    await recordDelivery(db(), {
      id,
      event: "issues",
      action: "closed",
      installationId: OCTO_REPO.installationId,
      repoFullName: OCTO_REPO.fullName,
      payload: issueClosed({ number: issue, stateReason, sender: closer }),
    });
  }

  /** The issue-close change as close-task makes it, claimed with delivery `deliveryId`. */
  async function closeAsCompleted(taskId: number, deliveryId: string) {
    return transitionTask(
      db(),
      taskId,
      ["review"],
      "done",
      { completedBy: closer.login, doneAt: new Date(), stateReason: "issue closed as completed" },
      { by: closer.login },
      deliveryId,
    );
  }

  /** close-task cancelling: the status comment edited, the other state labels off, `drover:cancelled` on. */
  function mockCancelled(sent: Sent, input: { issue: number; commentId: number; labels: string[] }): void {
    mockPatch(github.api(), sent, input.commentId, 1, input.issue);
    mockLabels(
      github.api(),
      sent,
      input.issue,
      input.labels,
      input.labels.filter((l) => l.startsWith("drover:")),
      "drover:cancelled",
    );
  }

  async function eventsOf(taskId: number, type: string) {
    return db()
      .select()
      .from(events)
      .where(and(eq(events.taskId, taskId), eq(events.type, type)));
  }

  it("cancels a task in review when its issue is closed as not planned", async () => {
    const id = await taskInReview(21, 6021);
    const sent = recorder();
    mockInstallationToken(github.api().persist(), OCTO_REPO.installationId);
    mockCancelled(sent, { issue: 21, commentId: 6021, labels: ["drover", "drover:review"] });

    await harness().receive(
      "issues",
      issueClosed({ number: 21, stateReason: "not_planned", sender: closer }),
    );
    await harness().drain();

    const { task } = await taskOf(db(), OCTO_REPO, 21);
    expect(task).toMatchObject({ state: "cancelled", modifiedBy: closer.login, completedBy: null });
    expect(sent.comments).toHaveLength(1);
    expect(sent.comments[0]?.body).toContain("⚪ Cancelled");
    expect(sent.comments[0]?.body).toContain("**Why:** issue closed as not planned");
    // Who started the work is still who started it, and the verdict stays on the comment.
    expect(sent.comments[0]?.body).toContain("| Started by | @mona |");
    expect(sent.comments[0]?.body).toContain("**Summary:** Added CHANGED.md");
    // Drover's state label says cancelled; the trigger label stays for a person to re-add or remove.
    expect(sent.removed).toEqual(["drover:review"]);
    expect(sent.added).toEqual([["drover:cancelled"]]);
    const history = await db().select().from(events).where(eq(events.taskId, id));
    expect(history.at(-1)).toMatchObject({ type: "task.cancelled", actor: closer.login });
  });

  it("makes a task done, completed by the closer, when its issue is closed as completed", async () => {
    const id = await taskInReview(22, 6022);
    const sent = recorder();
    mockInstallationToken(github.api().persist(), OCTO_REPO.installationId);
    mockClosed(github.api(), sent, { issue: 22, commentId: 6022, labels: ["drover:review"] });

    await harness().receive("issues", issueClosed({ number: 22, stateReason: "completed", sender: closer }));
    await harness().drain();

    const { task } = await taskOf(db(), OCTO_REPO, 22);
    expect(task).toMatchObject({ state: "done", completedBy: closer.login });
    expect(task?.doneAt).toBeInstanceOf(Date);
    expect(sent.comments).toHaveLength(1);
    expect(sent.comments[0]?.body).toContain("🎉 Done");
    expect(sent.comments[0]?.body).toContain("| Completed by | @closer |");
    expect(sent.comments[0]?.body).toContain("| Started by | @mona |");
    expect(sent.removed).toEqual(["drover:review"]);
    const history = await db().select().from(events).where(eq(events.taskId, id));
    expect(history.at(-1)).toMatchObject({ type: "task.completed", actor: closer.login });
  });

  it("does nothing on GitHub when a closed issue was never a task", async () => {
    // No mocks at all: any request to GitHub, even for a token, fails the test (sync-issue does not read
    // an issue Drover does not know).
    await harness().receive("issues", issueClosed({ number: 23, stateReason: "completed", sender: closer }));
    await harness().drain();
    expect((await taskOf(db(), OCTO_REPO, 23)).task).toBeUndefined();
  });

  it("leaves a task to close-task when a sync reads its closed issue first, so the closer is credited", async () => {
    await taskInReview(25, 6025);
    const sent = recorder();
    mockInstallationToken(github.api().persist(), OCTO_REPO.installationId);
    const closed = issueClosed({ number: 25, stateReason: "completed", sender: closer });
    await recordDelivery(db(), {
      id: "d-close-25",
      event: "issues",
      action: "closed",
      installationId: OCTO_REPO.installationId,
      repoFullName: OCTO_REPO.fullName,
      payload: closed,
    });
    // A sync that reads the issue from GitHub (reconcile's), run before the delivery's close-task job.
    mockSync(github.api(), {
      number: 25,
      title: "Task 25",
      labels: ["drover:review"],
      state: "closed",
      stateReason: "completed",
    });
    await syncIssue(harness().deps, {
      installationId: OCTO_REPO.installationId,
      repoFullName: OCTO_REPO.fullName,
      number: 25,
      links: false,
    });
    expect((await taskOf(db(), OCTO_REPO, 25)).task?.state).toBe("review");

    mockClosed(github.api(), sent, { issue: 25, commentId: 6025, labels: ["drover:review"] });
    await harness().enqueue("close-task", { deliveryId: "d-close-25" });
    await harness().drain();

    expect((await taskOf(db(), OCTO_REPO, 25)).task).toMatchObject({
      state: "done",
      completedBy: closer.login,
    });
    expect(sent.comments.map((c) => c.body)).toEqual([expect.stringContaining("| Completed by | @closer |")]);
    expect(sent.removed).toEqual(["drover:review"]);
  });

  it("finishes a task whose close webhook never came when a sync finds its issue closed", async () => {
    await taskInReview(26, 6026);
    const sent = recorder();
    mockInstallationToken(github.api().persist(), OCTO_REPO.installationId);
    mockSync(github.api(), {
      number: 26,
      title: "Task 26",
      labels: ["drover:review"],
      state: "closed",
      stateReason: "completed",
    });
    // Shown by an announce job: the status comment and the review label gone.
    mockClosed(github.api(), sent, { issue: 26, commentId: 6026, labels: ["drover:review"] });

    await syncIssue(harness().deps, {
      installationId: OCTO_REPO.installationId,
      repoFullName: OCTO_REPO.fullName,
      number: 26,
      links: false,
    });
    await harness().drain();

    expect((await taskOf(db(), OCTO_REPO, 26)).task).toMatchObject({ state: "done" });
    expect(sent.comments.map((c) => c.body)).toEqual([expect.stringContaining("🎉 Done")]);
    expect(sent.removed).toEqual(["drover:review"]);
  });

  it("an issue close whose state change was made by a run that stopped before showing it is shown, not applied twice", async () => {
    const id = await taskInReview(27, 6027);
    await recordClose("d-close-27", 27, "completed");
    // The earlier run of close-task made the change, then stopped before the status comment.
    expect((await closeAsCompleted(id, "d-close-27"))?.state).toBe("done");
    const sent = recorder();
    mockInstallationToken(github.api().persist(), OCTO_REPO.installationId);
    mockClosed(github.api(), sent, { issue: 27, commentId: 6027, labels: ["drover:review"] });

    await harness().enqueue("close-task", { deliveryId: "d-close-27" });
    await harness().drain();

    expect((await taskOf(db(), OCTO_REPO, 27)).task).toMatchObject({
      state: "done",
      completedBy: closer.login,
    });
    expect(sent.comments).toHaveLength(1);
    expect(sent.comments[0]).toMatchObject({ how: "patch", id: 6027 });
    expect(sent.comments[0]?.body).toContain("🎉 Done");
    expect(sent.comments[0]?.body).toContain("| Completed by | @closer |");
    expect(sent.removed).toEqual(["drover:review"]);
    expect(await eventsOf(id, "task.completed")).toHaveLength(1);
    expect(await getDelivery(db(), "d-close-27")).toMatchObject({ outcome: "done" });
    expect((await getDelivery(db(), "d-close-27"))?.processedAt).toBeInstanceOf(Date);
  });

  it("does not finish the restarted work when an old issue close is run again", async () => {
    const id = await taskInReview(28, 6028);
    await recordClose("d-close-28", 28, "completed");
    // The earlier run finished the task and stopped before the status comment; the issue was then
    // reopened and labelled again, and the new attempt's pull request is in review.
    await closeAsCompleted(id, "d-close-28");
    expect(await taskInReview(28, 6028)).toBe(id);
    const sent = recorder();
    mockInstallationToken(github.api().persist(), OCTO_REPO.installationId);
    mockPatch(github.api(), sent, 6028);
    mockLabels(github.api(), sent, 28, ["drover", "drover:review"], []);

    await harness().enqueue("close-task", { deliveryId: "d-close-28" });
    await harness().drain();

    expect((await taskOf(db(), OCTO_REPO, 28)).task).toMatchObject({
      state: "review",
      attemptCount: 2,
      prNumber: 29,
    });
    expect(sent.comments.map((c) => c.body)).toEqual([expect.stringContaining("✅ Pull request ready")]);
    expect(sent.removed).toEqual([]);
    expect(sent.added).toEqual([]);
    expect(await eventsOf(id, "task.completed")).toHaveLength(1);
    expect((await getDelivery(db(), "d-close-28"))?.processedAt).toBeInstanceOf(Date);
  });

  it("closes a task once when the same close delivery is run twice at once", async () => {
    const id = await taskInReview(29, 6029);
    await recordClose("d-close-29", 29, "not_planned");
    const sent = recorder();
    mockInstallationToken(github.api().persist(), OCTO_REPO.installationId);
    mockCancelled(sent, { issue: 29, commentId: 6029, labels: ["drover:review"] });

    await Promise.all([
      closeTask(harness().deps, { deliveryId: "d-close-29" }),
      closeTask(harness().deps, { deliveryId: "d-close-29" }),
    ]);
    await harness().drain();

    expect((await taskOf(db(), OCTO_REPO, 29)).task).toMatchObject({
      state: "cancelled",
      modifiedBy: closer.login,
    });
    expect(await eventsOf(id, "task.cancelled")).toHaveLength(1);
    expect(sent.comments.map((c) => c.body)).toEqual([expect.stringContaining("⚪ Cancelled")]);
    expect(sent.removed).toEqual(["drover:review"]);
    expect((await getDelivery(db(), "d-close-29"))?.processedAt).toBeInstanceOf(Date);
  });

  it("stops the agent of a task whose issue was closed while it ran, keeping its work on the branch", async () => {
    // The agent edits a file and waits for a go-ahead that never comes: closing the issue stops it.
    const go = path.join(sandbox().root, "go-24");
    const sent = recorder();
    const api = github.api();
    const issue = { number: 24, title: "Closed midway", body: "", labels: ["drover"] };
    mockInstallationToken(github.api().persist(), repo().installationId);
    // start-task, then run-task up to the agent.
    mockConfig(api, agentConfig("wait-for-file.mjs", { args: [go] }));
    mockPermission(api, MAINTAINER.login, "write");
    mockFirstStatus(api, sent, 24, 6024);
    mockIssue(api, issue);
    mockDiscussion(api, 24);
    // The rest of run-task (the commit's author); no pull request, no check run.
    mockIdentity(api);
    // Status edits and labels: run-task (running), close-task and publish (cancelled), and the scheduler's
    // announcement, which may come before or after any of these.
    const labels = mockIssueState(github.optional(), sent, {
      issue: 24,
      commentId: 6024,
      labels: ["drover"],
    });

    await harness().receive("issues", issueLabeled({ repo: repo(), number: 24, title: "Closed midway" }));
    await expect
      .poll(async () => (await taskOf(db(), repo(), 24)).task?.state, { timeout: 10_000 })
      .toBe("running");
    await expect
      .poll(() => sent.comments.some((c) => c.body.includes("🔵 Running")), { timeout: 10_000 })
      .toBe(true);
    // The agent has written its file and waits (it said so in its log).
    await expect
      .poll(
        async () => {
          const [dir] = await runDirs(sandbox().home, repo(), 24);
          if (!dir) return "";
          return readFile(path.join(sandbox().home, "runs", dir, "agent.log"), "utf8").catch(() => "");
        },
        { timeout: 10_000 },
      )
      .toContain("waiting for the go-ahead");
    await harness().receive(
      "issues",
      issueClosed({ number: 24, stateReason: "not_planned", sender: closer }),
      "d-close-24",
    );
    await expect
      .poll(async () => (await getDelivery(db(), "d-close-24"))?.processedAt, { timeout: 10_000 })
      .toBeTruthy();
    await harness().drain();

    const { task, attempts } = await taskOf(db(), repo(), 24);
    expect(task).toMatchObject({ state: "cancelled", modifiedBy: closer.login });
    expect(attempts).toMatchObject([{ state: "finished", conclusion: "neutral", headSha: null }]);
    expect(attempts[0]?.reason).toMatch(
      new RegExp(
        `^stopped by @${closer.login} \\(cancelled: issue closed as not planned\\); its work so far is on \`drover/24-closed-midway\` at [0-9a-f]{12}`,
      ),
    );
    expect(await originBranches(sandbox().origin)).toEqual(["drover/24-closed-midway", "main"]);
    expect(sent.comments.filter((c) => c.how === "post")).toHaveLength(1);
    expect(sent.comments.at(-1)?.body).toContain("⚪ Cancelled");
    expect(sent.comments.at(-1)?.body).toContain("**Why:** issue closed as not planned");
    // It ran with no state label: none to take off.
    expect(sent.removed).toEqual([]);
    expect([...labels]).toEqual(["drover", "drover:cancelled"]);
  });

  it("cancels a task when a person takes its Drover label off, saying who did", async () => {
    const id = await taskInReview(40, 6040);
    const sent = recorder();
    mockInstallationToken(github.api().persist(), OCTO_REPO.installationId);
    mockCancelled(sent, { issue: 40, commentId: 6040, labels: ["drover:review"] });
    // The delivery's sync-issue job records the issue from the payload: nothing is read.

    await harness().receive("issues", issueUnlabeled({ number: 40, sender: closer }), "d-unlabel-40");
    await harness().drain();

    expect((await taskOf(db(), OCTO_REPO, 40)).task).toMatchObject({
      state: "cancelled",
      modifiedBy: closer.login,
      stateReason: "the `drover` label was removed by @closer",
    });
    expect(sent.comments.map((c) => c.body)).toEqual([
      expect.stringContaining("the `drover` label was removed by @closer"),
    ]);
    expect(sent.added).toEqual([["drover:cancelled"]]);
    expect(await eventsOf(id, "task.cancelled")).toMatchObject([{ actor: closer.login }]);
    expect(await getDelivery(db(), "d-unlabel-40")).toMatchObject({ outcome: "cancelled" });
  });

  it("moves a running task when its label is taken off: what its worker polls for", async () => {
    const { taskId } = await claimedTask(db(), 41, "busy-worker", { statusCommentId: 6041 });
    await transitionTask(db(), taskId, ["queued"], "running");
    const sent = recorder();
    mockInstallationToken(github.api().persist(), OCTO_REPO.installationId);
    mockCancelled(sent, { issue: 41, commentId: 6041, labels: [] });

    await harness().receive("issues", issueUnlabeled({ number: 41, sender: closer }));
    await harness().drain();

    const { task, attempts } = await taskOf(db(), OCTO_REPO, 41);
    expect(task?.state).toBe("cancelled");
    // The attempt is the worker's to conclude (it stops its agent and pushes what it did).
    expect(attempts).toMatchObject([{ state: "running" }]);
    expect(sent.added).toEqual([["drover:cancelled"]]);
    expect(sent.removed).toEqual([]);
  });

  it("leaves the task alone when another label is taken off, or when it is done", async () => {
    await taskInReview(42, 6042);
    const done = await taskInReview(43, 6043);
    await transitionTask(db(), done, ["review"], "done", { completedBy: closer.login });
    // Nothing is read or written: the syncs take the issues from the payloads.
    mockInstallationToken(github.optional(), OCTO_REPO.installationId);

    await harness().receive(
      "issues",
      issueUnlabeled({ number: 42, label: "bug", sender: closer }),
      "d-un-42",
    );
    await harness().receive("issues", issueUnlabeled({ number: 43, sender: closer }), "d-un-43");
    await harness().drain();

    expect((await taskOf(db(), OCTO_REPO, 42)).task?.state).toBe("review");
    expect((await taskOf(db(), OCTO_REPO, 43)).task?.state).toBe("done");
    expect(await getDelivery(db(), "d-un-42")).toMatchObject({ outcome: "nothing to close" });
    expect(await getDelivery(db(), "d-un-43")).toMatchObject({ outcome: "nothing to close" });
  });
});
