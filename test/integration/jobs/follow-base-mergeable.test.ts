import { describe, expect, it } from "vitest";
import { followBase } from "../../../jobs/follow-base.ts";
import { getDelivery, recordDelivery } from "../../../src/db/deliveries.ts";
import { upsertRepository } from "../../../src/db/repositories.ts";
import { getTask, updateTask } from "../../../src/db/tasks.ts";
import { useDrover } from "../../helpers/drover.ts";
import { mockInstallationToken } from "../../helpers/github.ts";
import { mockIssueState, recorder, REPO_PATH } from "../../helpers/github-flows.ts";
import { pullReply, TEST_BOT } from "../../helpers/github-replies.ts";
import { OCTO_REPO, pushed } from "../../helpers/payloads.ts";
import { taskTrigger, triggerShownTask } from "../../helpers/tasks.ts";
import { recordingQueue } from "./command-mocks.ts";

/**
 * GitHub works out whether a pull request merges in the background once its base moved, answering
 * `mergeable: null` meanwhile (the sandbox always knows at once): follow-base asks again, and decides on
 * GitHub's answer, not on the null.
 */
describe("follow-base while GitHub works out mergeability", () => {
  const { db, harness, github } = useDrover();

  it("reads the pull request again until GitHub says it conflicts, then gives it to the agent", async () => {
    await upsertRepository(db(), OCTO_REPO);
    const trigger = await triggerShownTask(db(), {
      ...taskTrigger(601, { title: "Task 601" }),
      statusCommentId: 9601,
    });
    if (trigger.kind !== "created") throw new Error("not created");
    await updateTask(db(), trigger.task.id, { state: "review", prNumber: 1601, attemptCount: 1 });
    const deliveryId = "d-follow-601";
    const sha = "d".repeat(40);
    await recordDelivery(db(), {
      id: deliveryId,
      event: "push",
      installationId: OCTO_REPO.installationId,
      repoFullName: OCTO_REPO.fullName,
      payload: pushed({ ref: "refs/heads/main", after: sha }),
    });

    mockInstallationToken(github.optional(), OCTO_REPO.installationId);
    const pull = pullReply({ number: 1601, head: trigger.task.branch, by: TEST_BOT });
    const api = github.api();
    api.get(`${REPO_PATH}/pulls/1601`).reply(200, { ...pull, mergeable: null, mergeable_state: "unknown" });
    api.get(`${REPO_PATH}/pulls/1601`).reply(200, { ...pull, mergeable: false, mergeable_state: "dirty" });
    const sent = recorder();
    mockIssueState(github.optional(), sent, {
      issue: 601,
      commentId: 9601,
      labels: ["drover", "drover:review"],
    });

    const { deps, enqueued } = recordingQueue(harness().deps);
    await followBase(deps, { deliveryId });

    const task = await getTask(db(), trigger.task.id);
    expect(task).toMatchObject({ state: "ready" });
    expect(task?.nextStart).toMatchObject({ cause: "conflict", merge: { branch: "main", sha } });
    expect(enqueued).toEqual(["schedule"]);
    expect(sent.comments.at(-1)?.body).toContain("Conflicts with `main`: waiting for a worker");
    expect(await getDelivery(db(), deliveryId)).toMatchObject({ outcome: "resolve" });
  });
});
