import { beforeAll, describe, expect, it } from "vitest";
import { announce } from "../../../jobs/announce.ts";
import { startTask } from "../../../jobs/start-task.ts";
import { readStart } from "../../../src/db/attempt-start.ts";
import { recordDelivery } from "../../../src/db/deliveries.ts";
import { upsertRepository } from "../../../src/db/repositories.ts";
import { getTask, updateTask } from "../../../src/db/tasks.ts";
import { useDrover } from "../../helpers/drover.ts";
import { mockInstallationToken } from "../../helpers/github.ts";
import { mockConfig, mockIssueState, mockPermission, recorder } from "../../helpers/github-flows.ts";
import { MAINTAINER, OCTO_REPO, issueLabeled } from "../../helpers/payloads.ts";
import { taskTrigger, triggerShownTask } from "../../helpers/tasks.ts";
import { recordingQueue } from "./command-mocks.ts";

/**
 * The label added again to a task whose pull request is open: the new attempt goes on from the pull
 * request's head (new commits on the same PR), never a force-push of the branch the reviewer saw.
 */
describe("start-task on a task in review", () => {
  const { db, harness, github } = useDrover();

  beforeAll(async () => {
    await upsertRepository(db(), OCTO_REPO);
  });

  async function label(issue: number, title: string): Promise<string[]> {
    const deliveryId = `d-relabel-${issue}`;
    await recordDelivery(db(), {
      id: deliveryId,
      event: "issues",
      action: "labeled",
      installationId: OCTO_REPO.installationId,
      repoFullName: OCTO_REPO.fullName,
      payload: issueLabeled({ number: issue, title }),
    });
    const { deps, enqueued } = recordingQueue(harness().deps);
    await startTask(deps, { deliveryId });
    return enqueued;
  }

  it("starts the next attempt from the task branch, credited to the labeller", async () => {
    const trigger = await triggerShownTask(db(), { ...taskTrigger(501), statusCommentId: 9501 });
    if (trigger.kind !== "created") throw new Error("not created");
    await updateTask(db(), trigger.task.id, { state: "review", prNumber: 1501, attemptCount: 1 });
    const sent = recorder();
    mockInstallationToken(github.optional(), OCTO_REPO.installationId);
    mockConfig(github.api(), "label: drover\n");
    mockPermission(github.api(), MAINTAINER.login, "write");
    const labels = mockIssueState(github.optional(), sent, {
      issue: 501,
      commentId: 9501,
      labels: ["drover", "drover:review"],
    });

    const enqueued = await label(501, "Task 501");

    const task = await getTask(db(), trigger.task.id);
    expect(task).toMatchObject({ state: "ready", prNumber: 1501, modifiedBy: MAINTAINER.login });
    expect(readStart(task?.nextStart)).toEqual({ from: "branch", cause: "label", by: MAINTAINER.login });
    // Shown by the scheduling pass's announcement (the reason moved), not by start-task.
    await announce(harness().deps, { taskId: trigger.task.id });
    expect(sent.comments.at(-1)?.body).toContain("Ready");
    expect([...labels]).toEqual(["drover"]);
    expect(enqueued).toContain("schedule");
  });

  it("starts a task waiting in conflict from the task branch too: its pull request is open", async () => {
    const trigger = await triggerShownTask(db(), {
      ...taskTrigger(503, { title: "Task 503" }),
      statusCommentId: 9503,
    });
    if (trigger.kind !== "created") throw new Error("not created");
    await updateTask(db(), trigger.task.id, { state: "conflict", prNumber: 1503, attemptCount: 1 });
    const sent = recorder();
    mockInstallationToken(github.optional(), OCTO_REPO.installationId);
    mockConfig(github.api(), "label: drover\n");
    mockPermission(github.api(), MAINTAINER.login, "write");
    mockIssueState(github.optional(), sent, {
      issue: 503,
      commentId: 9503,
      labels: ["drover", "drover:conflict"],
    });

    await label(503, "Task 503");

    const task = await getTask(db(), trigger.task.id);
    expect(task).toMatchObject({ state: "ready", prNumber: 1503 });
    expect(readStart(task?.nextStart)).toEqual({ from: "branch", cause: "label", by: MAINTAINER.login });
  });

  it("starts a failed task again from the base branch, as before", async () => {
    const trigger = await triggerShownTask(db(), { ...taskTrigger(502), statusCommentId: 9502 });
    if (trigger.kind !== "created") throw new Error("not created");
    await updateTask(db(), trigger.task.id, { state: "failed", attemptCount: 1 });
    const sent = recorder();
    mockInstallationToken(github.optional(), OCTO_REPO.installationId);
    mockConfig(github.api(), "label: drover\n");
    mockPermission(github.api(), MAINTAINER.login, "write");
    mockIssueState(github.optional(), sent, {
      issue: 502,
      commentId: 9502,
      labels: ["drover", "drover:failed"],
    });

    await label(502, "Task 502");

    const task = await getTask(db(), trigger.task.id);
    expect(task?.state).toBe("ready");
    expect(task?.nextStart).toBeNull();
  });
});
