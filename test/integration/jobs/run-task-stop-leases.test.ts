import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { DroverConfig } from "../../../src/config/schema.ts";
import {
  claimAttempt,
  concludeStopped,
  getAttempt,
  lapseLease,
  watchAttempt,
} from "../../../src/db/attempts.ts";
import { upsertIssue } from "../../../src/db/graph-rows.ts";
import { upsertRepository } from "../../../src/db/repositories.ts";
import { attempts, tasks } from "../../../src/db/schema.ts";
import { getTask, queueTasks, transitionTask } from "../../../src/db/tasks.ts";
import { useDrover } from "../../helpers/drover.ts";
import { mockInstallationToken } from "../../helpers/github.ts";
import {
  agentConfig,
  mockDiscussion,
  mockIdentity,
  mockIssue,
  mockIssueState,
  recorder,
  taskOf,
} from "../../helpers/github-flows.ts";
import { OCTO_REPO } from "../../helpers/payloads.ts";
import { claimedTask, taskTrigger, triggerShownTask } from "../../helpers/tasks.ts";

/**
 * What a running attempt reads to notice a person's stop, how a stopped attempt is recorded, and how a
 * worker taking over an attempt whose task was stopped meanwhile ends it, so that nothing is left stuck.
 */
describe("attempts of a task a person stopped", () => {
  const { db, harness, repo, github } = useDrover();
  const setUp = () => upsertRepository(db(), repo());

  it("watchAttempt says running, then stopped with who stopped it, or lost once taken over", async () => {
    await setUp();
    const { taskId, lease } = await claimedTask(db(), 61, "w1");
    expect(await watchAttempt(db(), lease)).toEqual({ kind: "running" });

    await transitionTask(db(), taskId, ["running"], "cancelled", {
      modifiedBy: "alice",
      stateReason: "cancelled by @alice",
    });
    expect(await watchAttempt(db(), lease)).toEqual({
      kind: "stopped",
      state: "cancelled",
      reason: "cancelled by @alice",
      by: "alice",
    });

    await db().update(tasks).set({ state: "done", completedBy: "erin" }).where(eq(tasks.id, taskId));
    expect(await watchAttempt(db(), lease)).toMatchObject({ kind: "stopped", state: "done", by: "erin" });

    await db()
      .update(attempts)
      .set({ leaseEpoch: lease.epoch + 1 })
      .where(eq(attempts.id, lease.attemptId));
    expect(await watchAttempt(db(), lease)).toEqual({ kind: "lost" });
  });

  it("concludeStopped records the attempt under its lease only, and leaves the task alone", async () => {
    await setUp();
    const { taskId, lease } = await claimedTask(db(), 62, "w1");
    await transitionTask(db(), taskId, ["running"], "paused", { modifiedBy: "bob", stateReason: "paused" });
    const stale = { ...lease, epoch: lease.epoch + 1 };

    expect(await concludeStopped(db(), stale, { conclusion: "neutral", reason: "x" })).toBe(false);
    expect(await concludeStopped(db(), lease, { conclusion: "neutral", reason: "stopped by @bob" })).toBe(
      true,
    );
    expect(await concludeStopped(db(), lease, { conclusion: "neutral", reason: "again" })).toBe(false);

    expect(await getAttempt(db(), lease.attemptId)).toMatchObject({
      state: "finished",
      conclusion: "neutral",
      reason: "stopped by @bob",
    });
    expect((await getTask(db(), taskId))?.state).toBe("paused");
  });

  it("a takeover of a running attempt whose task was stopped claims it as stopped, task untouched", async () => {
    await setUp();
    const { taskId, lease } = await claimedTask(db(), 63, "dead-worker");
    await db()
      .update(attempts)
      .set({ leaseExpiresAt: new Date(0) })
      .where(eq(attempts.id, lease.attemptId));
    await transitionTask(db(), taskId, ["running"], "cancelled", { modifiedBy: "alice" });

    const claim = await claimAttempt(db(), lease.attemptId, "w2");
    expect(claim).toMatchObject({
      kind: "stopped",
      lease: { attemptId: lease.attemptId, epoch: 2 },
      task: { state: "cancelled" },
    });
    expect((await getTask(db(), taskId))?.state).toBe("cancelled");
    // The dead worker can no longer write.
    expect(await watchAttempt(db(), lease)).toEqual({ kind: "lost" });
  });

  it("a queued attempt whose task moved on is abandoned, and the task's next attempt may queue", async () => {
    await setUp();
    await upsertIssue(db(), {
      key: `${OCTO_REPO.fullName.toLowerCase()}#64`,
      installationId: OCTO_REPO.installationId,
      repoFullName: OCTO_REPO.fullName,
      number: 64,
      title: "Task 64",
      linksSyncedAt: new Date(),
    });
    const yaml = agentConfig("exit-code.mjs", { args: ["3"] });
    const trigger = await triggerShownTask(db(), {
      ...taskTrigger(64, { title: "Task 64", config: DroverConfig.parse(parse(yaml)) }),
      statusCommentId: 9064,
    });
    if (trigger.kind === "applied-before") throw new Error("not triggered");
    const [queued] = await queueTasks(db(), [trigger.task.id]);
    if (!queued) throw new Error("not queued");
    // Restarted before a worker took it up: the next attempt waits for this one to be done with.
    await transitionTask(db(), trigger.task.id, ["queued"], "ready", { modifiedBy: "carol" });
    expect(await queueTasks(db(), [trigger.task.id])).toEqual([]);

    mockInstallationToken(github.api().persist(), repo().installationId);
    const optional = github.optional();
    mockIssue(optional, { number: 64, title: "Task 64", labels: ["drover"] });
    mockDiscussion(optional, 64);
    mockIdentity(optional);
    mockIssueState(optional, recorder(), { issue: 64, commentId: 9064, labels: ["drover"] });
    await harness().enqueue("run-task", { attemptId: queued.attemptId });
    await harness().drain();

    // Its job abandoned it and asked for a scheduling pass, which queued (and ran) the next attempt.
    const { task, attempts: tried } = await taskOf(db(), repo(), 64);
    const byNumber = [...tried].sort((a, b) => a.number - b.number);
    expect(byNumber).toMatchObject([
      { number: 1, state: "abandoned" },
      { number: 2, state: "finished", conclusion: "failure" },
    ]);
    expect(task).toMatchObject({ state: "failed", attemptCount: 2 });
  });

  it("a worker that died before the person stopped the task: the next worker concludes it as stopped", async () => {
    await setUp();
    const { taskId, lease } = await claimedTask(db(), 65, "dead-worker", { statusCommentId: 9065 });
    await lapseLease(db(), lease);
    await transitionTask(db(), taskId, ["running"], "cancelled", {
      modifiedBy: "dave",
      stateReason: "cancelled by @dave",
    });
    mockInstallationToken(github.api().persist(), repo().installationId);
    mockIssueState(github.optional(), recorder(), { issue: 65, commentId: 9065, labels: ["drover"] });

    await harness().enqueue("run-task", { attemptId: lease.attemptId });
    await harness().drain();

    expect(await getAttempt(db(), lease.attemptId)).toMatchObject({
      state: "finished",
      conclusion: "neutral",
      reason: "stopped (cancelled by @dave); its worker stopped before its work could be pushed",
    });
    expect((await getTask(db(), taskId))?.state).toBe("cancelled");
  });
});
