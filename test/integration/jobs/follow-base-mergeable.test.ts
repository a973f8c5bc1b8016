import { describe, expect, it } from "vitest";
import { followBase } from "../../../jobs/follow-base.ts";
import { getDelivery, recordDelivery } from "../../../src/db/deliveries.ts";
import { upsertRepository } from "../../../src/db/repositories.ts";
import { getTask, updateTask } from "../../../src/db/tasks.ts";
import { useDrover } from "../../helpers/drover.ts";
import { mockInstallationToken } from "../../helpers/github.ts";
import { mockIssueState, recorder } from "../../helpers/github-flows.ts";
import { mockGraphql } from "../../helpers/review-flows.ts";
import { OCTO_REPO, pushed } from "../../helpers/payloads.ts";
import { taskTrigger, triggerShownTask } from "../../helpers/tasks.ts";
import { recordingQueue } from "./command-mocks.ts";

/**
 * GitHub works out whether a pull request merges in the background once its base moved, answering
 * `UNKNOWN` meanwhile (the sandbox knows at once by default): follow-base asks again, one query for the
 * base's pull requests, and decides on GitHub's answer, not on the unknown.
 */
describe("follow-base while GitHub works out mergeability", () => {
  const { db, harness, github } = useDrover();

  it("asks again, for the base's pull requests at once, until GitHub says it conflicts, then gives it to the agent", async () => {
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
    // GitHub lists the base's open pull requests, a person's among them; 1601's is worked out on the second ask.
    const page = (mergeable: string) => ({
      data: {
        repository: {
          pullRequests: {
            nodes: [
              { number: 1600, headRefOid: "a".repeat(40), mergeable: "UNKNOWN" },
              { number: 1601, headRefOid: "b".repeat(40), mergeable },
            ],
            pageInfo: { hasNextPage: false, endCursor: "Y3Vyc29yOnYyOjE2MDE=" },
          },
        },
      },
    });
    const graphql = mockGraphql([page("UNKNOWN"), page("CONFLICTING")]);
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
    // The base's new tip recorded: its mirror fetched in the background; the task scheduled.
    expect(enqueued).toEqual(["warm-pool", "schedule"]);
    expect(sent.comments.at(-1)?.body).toContain("Conflicts with `main`: waiting for a worker");
    expect(await getDelivery(db(), deliveryId)).toMatchObject({ outcome: "resolve" });
    // Asked twice, for the base's pull requests (not one request a pull request).
    expect(graphql.scope.isDone()).toBe(true);
    expect(graphql.variables).toEqual([
      { owner: "octo-org", name: "widgets", base: "main", after: null },
      { owner: "octo-org", name: "widgets", base: "main", after: null },
    ]);
  });

  it("pages through the base's open pull requests only until it has found Drover's", async () => {
    await upsertRepository(db(), OCTO_REPO);
    const trigger = await triggerShownTask(db(), {
      ...taskTrigger(602, { title: "Task 602" }),
      statusCommentId: 9602,
    });
    if (trigger.kind !== "created") throw new Error("not created");
    await updateTask(db(), trigger.task.id, { state: "review", prNumber: 1602, attemptCount: 1 });
    const deliveryId = "d-follow-602";
    await recordDelivery(db(), {
      id: deliveryId,
      event: "push",
      installationId: OCTO_REPO.installationId,
      repoFullName: OCTO_REPO.fullName,
      payload: pushed({ ref: "refs/heads/main", after: "e".repeat(40) }),
    });
    mockInstallationToken(github.optional(), OCTO_REPO.installationId);
    // People's pull requests fill the first page; Drover's is on the second, and a third is never asked for.
    const page = (numbers: number[], endCursor: string) => ({
      data: {
        repository: {
          pullRequests: {
            nodes: numbers.map((number) => ({ number, headRefOid: "c".repeat(40), mergeable: "MERGEABLE" })),
            pageInfo: { hasNextPage: true, endCursor },
          },
        },
      },
    });
    const graphql = mockGraphql([page([1500, 1501], "page-1"), page([1602, 1603], "page-2")]);

    const { deps, enqueued } = recordingQueue(harness().deps);
    await followBase(deps, { deliveryId });

    expect(graphql.scope.isDone()).toBe(true);
    expect(graphql.variables.map((v) => v.after)).toEqual([null, "page-1"]);
    expect(await getTask(db(), trigger.task.id)).toMatchObject({ state: "review", nextStart: null });
    expect(enqueued).toEqual([]);
    expect(await getDelivery(db(), deliveryId)).toMatchObject({ outcome: "nothing" });
  });
});
