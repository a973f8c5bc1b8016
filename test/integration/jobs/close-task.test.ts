import { writeFile } from "node:fs/promises";
import path from "node:path";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { DroverConfig } from "../../../src/config/schema.ts";
import { getDelivery } from "../../../src/db/deliveries.ts";
import { upsertRepository } from "../../../src/db/repositories.ts";
import { events } from "../../../src/db/schema.ts";
import { claimAttempt, finishAttempt } from "../../../src/db/attempts.ts";
import { queueReadyTasks, transitionTask, triggerTask } from "../../../src/db/tasks.ts";
import { useDrover } from "../../helpers/drover.ts";
import { mockInstallationToken } from "../../helpers/github.ts";
import {
  agentConfig,
  mockAnnounce,
  mockClosed,
  mockConfig,
  mockIdentity,
  mockIssue,
  mockLabels,
  mockPatch,
  mockPermission,
  originBranches,
  recorder,
  taskOf,
} from "../../helpers/github-flows.ts";
import {
  AUTHOR,
  MAINTAINER,
  OCTO_REPO,
  issueClosed,
  issueLabeled,
  type TestUser,
} from "../../helpers/payloads.ts";

/**
 * close-task: an issue closed while its pull request is in review. "Not planned" cancels the task,
 * "completed" makes it done and credits the closer; the status comment and the state label follow.
 */
describe("close-task", () => {
  const { db, harness, sandbox, repo, github } = useDrover();
  const closer: TestUser = { login: "closer", id: 404 };

  beforeAll(async () => {
    await upsertRepository(db(), repo());
  });

  /** A task whose pull request is open for review, as run-task and publish leave it. */
  async function taskInReview(issue: number, commentId: number): Promise<number> {
    const trigger = await triggerTask(db(), {
      repoId: OCTO_REPO.id,
      issueNumber: issue,
      title: `Task ${issue}`,
      createdBy: AUTHOR.login,
      createdById: AUTHOR.id,
      triggeredBy: MAINTAINER.login,
      branch: `drover/${issue}-task-${issue}`,
      config: DroverConfig.parse({}),
    });
    const [queued] = await queueReadyTasks(db(), OCTO_REPO.id, 2);
    const claim = queued && (await claimAttempt(db(), queued.attemptId, "earlier-worker"));
    if (!claim) throw new Error("attempt was not claimed");
    await finishAttempt(db(), claim.lease, {
      conclusion: "success",
      reason: "the agent reported success",
      summary: "Added CHANGED.md",
    });
    const moved = await transitionTask(db(), trigger.task.id, ["running"], "review", {
      stateReason: null,
      prNumber: issue + 1,
      statusCommentId: commentId,
    });
    if (!moved) throw new Error("task did not move to review");
    return moved.id;
  }

  it("cancels a task in review when its issue is closed as not planned", async () => {
    const id = await taskInReview(21, 6021);
    const sent = recorder();
    mockInstallationToken(github.api().persist(), OCTO_REPO.installationId);
    mockClosed(github.api(), sent, { issue: 21, commentId: 6021, labels: ["drover", "drover:review"] });

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
    // Only Drover's state label goes; the trigger label stays for a person to re-add or remove.
    expect(sent.removed).toEqual(["drover:review"]);
    expect(sent.added).toEqual([]);
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
    // No mocks at all: any request to GitHub, even for a token, fails the test.
    await harness().receive("issues", issueClosed({ number: 23, stateReason: "completed", sender: closer }));
    await harness().drain();
    expect((await taskOf(db(), OCTO_REPO, 23)).task).toBeUndefined();
  });

  it("pushes nothing for a task whose issue was closed while its agent ran", async () => {
    const go = path.join(sandbox().root, "go-24");
    const sent = recorder();
    const api = github.api();
    mockInstallationToken(github.api().persist(), repo().installationId);
    // start-task, then run-task up to the agent.
    mockConfig(api, agentConfig("wait-for-file.mjs", { args: [go] }));
    mockPermission(api, MAINTAINER.login, "write");
    mockAnnounce(api, sent, 24, 6024);
    mockIssue(api, 24, "Closed midway", AUTHOR, "");
    mockPatch(api, sent, 6024, 3);
    mockLabels(api, sent, 24, ["drover:running"], []);
    // close-task while the agent waits.
    mockLabels(api, sent, 24, ["drover:running"], ["drover:running"]);
    // The rest of run-task (the commit's author) and publish's status; no pull request, no check run.
    mockIdentity(api);
    mockLabels(api, sent, 24, [], []);

    await harness().receive("issues", issueLabeled({ repo: repo(), number: 24, title: "Closed midway" }));
    await expect
      .poll(async () => (await taskOf(db(), repo(), 24)).task?.state, { timeout: 10_000 })
      .toBe("running");
    await expect.poll(() => sent.comments.length, { timeout: 10_000 }).toBe(2);
    await harness().receive(
      "issues",
      issueClosed({ number: 24, stateReason: "not_planned", sender: closer }),
      "d-close-24",
    );
    await expect
      .poll(async () => (await getDelivery(db(), "d-close-24"))?.processedAt, { timeout: 10_000 })
      .toBeTruthy();
    await writeFile(go, "");
    await harness().drain();

    const { task, attempts } = await taskOf(db(), repo(), 24);
    expect(task?.state).toBe("cancelled");
    expect(attempts).toMatchObject([{ state: "finished", conclusion: "neutral", headSha: null }]);
    expect(await originBranches(sandbox().origin)).toEqual(["main"]);
    expect(sent.comments.at(-1)?.body).toContain("⚪ Cancelled");
    expect(sent.removed).toEqual(["drover:running"]);
  });
});
