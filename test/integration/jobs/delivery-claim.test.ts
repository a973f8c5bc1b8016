import { and, eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { closeTask } from "../../../jobs/close-task.ts";
import { startTask } from "../../../jobs/start-task.ts";
import { getDelivery, recordDelivery } from "../../../src/db/deliveries.ts";
import { upsertRepository } from "../../../src/db/repositories.ts";
import { events } from "../../../src/db/schema.ts";
import { transitionTask, triggerTask, updateTask } from "../../../src/db/tasks.ts";
import { useDrover } from "../../helpers/drover.ts";
import { rememberStatusComment, taskTrigger } from "../../helpers/tasks.ts";
import { mockInstallationToken } from "../../helpers/github.ts";
import { mockClosed, recorder, taskOf } from "../../helpers/github-flows.ts";
import { MAINTAINER, OCTO_REPO, issueClosed, issueLabeled } from "../../helpers/payloads.ts";

/**
 * A delivery's state change is claimed with the delivery, in one transaction: its job run again (a worker
 * died after the change and before it marked the delivery done, or the job came back a day later) never
 * starts or closes a task a second time, and still does what was left (the status comment, scheduling).
 */
describe("a delivery applied once", () => {
  const { db, harness, github } = useDrover();

  beforeAll(async () => {
    await upsertRepository(db(), OCTO_REPO);
  });

  const trigger = (issue: number, deliveryId: string) =>
    triggerTask(db(), taskTrigger(issue, { deliveryId }));

  const record = (id: string, event: string, action: string, payload: object) =>
    recordDelivery(db(), {
      id,
      event,
      action,
      installationId: OCTO_REPO.installationId,
      repoFullName: OCTO_REPO.fullName,
      payload,
    });

  const eventsOf = async (taskId: number, type: string) =>
    db()
      .select()
      .from(events)
      .where(and(eq(events.taskId, taskId), eq(events.type, type)));

  it("does not start a task again when its label delivery runs again after the task finished", async () => {
    await record(
      "label-41",
      "issues",
      "labeled",
      issueLabeled({ repo: OCTO_REPO, number: 41, title: "Task 41" }),
    );
    const first = await trigger(41, "label-41");
    if (first.kind !== "created") throw new Error(`expected a new task, got ${first.kind}`);
    // The earlier run died here (the delivery is not marked processed); the task ran and finished since.
    await updateTask(db(), first.task.id, { state: "done" });

    // No GitHub mock: any request the job made would fail it.
    await startTask(harness().deps, { deliveryId: "label-41" });

    expect((await taskOf(db(), OCTO_REPO, 41)).task?.state).toBe("done");
    expect(await eventsOf(first.task.id, "task.ready")).toHaveLength(1);
    expect(await getDelivery(db(), "label-41")).toMatchObject({ outcome: "applied before" });
    expect((await getDelivery(db(), "label-41"))?.processedAt).toBeInstanceOf(Date);
  });

  it("starts a task once when the same delivery is applied twice at once", async () => {
    await record(
      "label-42",
      "issues",
      "labeled",
      issueLabeled({ repo: OCTO_REPO, number: 42, title: "Task 42" }),
    );
    const results = await Promise.all([trigger(42, "label-42"), trigger(42, "label-42")]);
    expect(results.map((r) => r.kind).sort()).toEqual(["applied-before", "created"]);
    const { task } = await taskOf(db(), OCTO_REPO, 42);
    expect(await eventsOf(task!.id, "task.ready")).toHaveLength(1);
    await updateTask(db(), task!.id, { state: "cancelled" }); // not for the scheduler of the next test
  });

  it("shows an issue close that an earlier run applied but never showed, without applying it again", async () => {
    await record(
      "label-43",
      "issues",
      "labeled",
      issueLabeled({ repo: OCTO_REPO, number: 43, title: "Task 43" }),
    );
    const started = await trigger(43, "label-43");
    if (started.kind !== "created") throw new Error(`expected a new task, got ${started.kind}`);
    const taskId = started.task.id;
    await updateTask(db(), taskId, { state: "review", prNumber: 44 });
    await rememberStatusComment(db(), OCTO_REPO.fullName, 43, 6043);
    const closed = issueClosed({ number: 43, stateReason: "completed" });
    await record("close-43", "issues", "closed", closed);
    // The earlier run: the change, claimed with the delivery; then it died before the status comment.
    const moved = await transitionTask(
      db(),
      taskId,
      ["review"],
      "done",
      { completedBy: MAINTAINER.login, doneAt: new Date(), stateReason: "issue closed as completed" },
      { by: MAINTAINER.login },
      "close-43",
    );
    expect(moved?.state).toBe("done");
    // The delivery cannot move the task again, even from a state it could move from.
    await updateTask(db(), taskId, { state: "review" });
    expect(await transitionTask(db(), taskId, ["review"], "done", {}, {}, "close-43")).toBeUndefined();
    await updateTask(db(), taskId, { state: "done" });

    const sent = recorder();
    mockInstallationToken(github.api().persist(), OCTO_REPO.installationId);
    mockClosed(github.api(), sent, { issue: 43, commentId: 6043, labels: ["drover:review"] });
    await closeTask(harness().deps, { deliveryId: "close-43" });

    expect(sent.comments).toHaveLength(1);
    expect(sent.comments[0]?.body).toContain("🎉 Done");
    expect(sent.removed).toEqual(["drover:review"]);
    // One completion by the closer (the test's own state writes above name nobody).
    const completed = await eventsOf(taskId, "task.completed");
    expect(completed.filter((event) => event.actor === MAINTAINER.login)).toHaveLength(1);
    expect((await getDelivery(db(), "close-43"))?.processedAt).toBeInstanceOf(Date);
  });
});
