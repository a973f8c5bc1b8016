import { eq, sql } from "drizzle-orm";
import pino from "pino";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { requeuePending } from "../../../src/scheduler/watchdog.ts";
import {
  claimAttempt,
  concludeAttempt,
  getAttempt,
  getStep,
  lapseLease,
  PUBLISHED,
  recordStep,
  recordStepUnderLease,
  unpublishedAttempts,
  type Lease,
  type TaskMove,
} from "../../../src/db/attempts.ts";
import type { AttemptOutcome } from "../../../src/db/attempt-record.ts";
import { upsertRepository } from "../../../src/db/repositories.ts";
import { attempts, events, steps, tasks } from "../../../src/db/schema.ts";
import { getTask, transitionTask } from "../../../src/db/tasks.ts";
import { IllegalTransitionError } from "../../../src/db/transition.ts";
import type { Enqueue } from "../../../src/queue/job-catalog.ts";
import { useTestDatabase } from "../../helpers/db.ts";
import { claimedTask } from "../../helpers/tasks.ts";
import { OCTO_REPO } from "../../helpers/payloads.ts";

const VERDICT_STEP = z.object({ verdict: z.string() });

const OUTCOME: AttemptOutcome = {
  conclusion: "success",
  reason: "the agent reported success",
  summary: "Added CHANGED.md",
};

/** What run-task does with a passing attempt: the task goes to review, with why. */
const TO_REVIEW: TaskMove = {
  from: ["running"],
  to: "review",
  fields: { stateReason: "the agent reported success" },
  cause: { data: { note: "from the test" } },
};

/**
 * Leases on attempts, against real PostgreSQL: a worker that lost its attempt to another (it was paused,
 * or its connection dropped) can neither record a result nor move the task, so a user never sees two
 * verdicts for one run, nor a task stuck `running` under a finished attempt. A finished attempt whose
 * publish job was lost is found and published again.
 */
describe("attempt leases", () => {
  const testDb = useTestDatabase();
  const db = () => testDb.database().db;
  let issue = 0;

  beforeAll(async () => {
    await upsertRepository(db(), OCTO_REPO);
  });

  beforeEach(async () => {
    await db().delete(steps);
    await db().delete(events);
    await db().delete(attempts);
    await db().delete(tasks);
  });

  /** A task whose first attempt a worker has just claimed, as run-task leaves it before the agent runs. */
  async function runningTask(): Promise<{ taskId: number; lease: Lease }> {
    issue++;
    return claimedTask(db(), issue, "first-worker");
  }

  /** The first worker's lease lapses and a second worker takes the attempt over (epoch 2). */
  async function takenOver(lease: Lease): Promise<Lease> {
    if (!(await lapseLease(db(), lease))) throw new Error("lease was not held");
    const claim = await claimAttempt(db(), lease.attemptId, "second-worker");
    if (claim.kind !== "claimed") throw new Error("attempt was not taken over");
    return claim.lease;
  }

  async function history(taskId: number) {
    return db().select().from(events).where(eq(events.taskId, taskId)).orderBy(events.id);
  }

  async function eventTypes(taskId: number): Promise<string[]> {
    return (await history(taskId)).map((event) => event.type);
  }

  /** A finished attempt, as if it finished a minute ago. */
  async function finishedAMinuteAgo(): Promise<number> {
    const { lease } = await runningTask();
    if (!(await concludeAttempt(db(), lease, OUTCOME, TO_REVIEW))) throw new Error("not concluded");
    await db()
      .update(attempts)
      .set({ finishedAt: sql`now() - interval '1 minute'` })
      .where(eq(attempts.id, lease.attemptId));
    return lease.attemptId;
  }

  it("counts only the leases lost to a dead worker, not those handed back on shutdown or retry", async () => {
    const { lease } = await runningTask();
    const handedBack = await takenOver(lease);
    // The second worker dies: its lease runs out and a third takes the attempt over.
    await db()
      .update(attempts)
      .set({ leaseExpiresAt: sql`now() - interval '1 second'` })
      .where(eq(attempts.id, handedBack.attemptId));
    const claim = await claimAttempt(db(), handedBack.attemptId, "third-worker");
    if (claim.kind !== "claimed") throw new Error("attempt was not taken over");
    expect(claim.lease.epoch).toBe(3);
    expect(claim.attempt.lostLeases).toBe(1);
  });

  /** The result of a run and the task's next state are written together, or not at all. */
  describe("concludeAttempt", () => {
    it("finishes the attempt, moves the task and records the event, under the current lease", async () => {
      const { taskId, lease } = await runningTask();

      expect(await concludeAttempt(db(), lease, OUTCOME, TO_REVIEW)).toBe(true);

      const attempt = await getAttempt(db(), lease.attemptId);
      expect(attempt).toMatchObject({ state: "finished", ...OUTCOME });
      expect(attempt?.finishedAt).toBeInstanceOf(Date);
      expect(await getTask(db(), taskId)).toMatchObject({
        state: "review",
        stateReason: "the agent reported success",
      });
      expect((await history(taskId)).at(-1)).toMatchObject({
        type: "task.review",
        data: { from: "running", to: "review", reason: "the agent reported success", note: "from the test" },
      });
    });

    it("changes nothing for a worker whose lease was taken over", async () => {
      const { taskId, lease } = await runningTask();
      const current = await takenOver(lease);
      expect(current.epoch).toBe(2);

      expect(await concludeAttempt(db(), lease, OUTCOME, TO_REVIEW)).toBe(false);

      const attempt = await getAttempt(db(), lease.attemptId);
      expect(attempt).toMatchObject({ state: "running", leaseEpoch: 2, conclusion: null, finishedAt: null });
      expect(await getTask(db(), taskId)).toMatchObject({ state: "running" });
      expect(await eventTypes(taskId)).not.toContain("task.review");
    });

    it("finishes the attempt but leaves a task that moved on meanwhile where it is", async () => {
      const { taskId, lease } = await runningTask();
      await transitionTask(db(), taskId, ["running"], "cancelled", { stateReason: "cancelled by mona" });

      expect(await concludeAttempt(db(), lease, OUTCOME, TO_REVIEW)).toBe(true);

      expect(await getAttempt(db(), lease.attemptId)).toMatchObject({ state: "finished", ...OUTCOME });
      expect(await getTask(db(), taskId)).toMatchObject({
        state: "cancelled",
        stateReason: "cancelled by mona",
      });
      expect(await eventTypes(taskId)).not.toContain("task.review");
    });
  });

  it("refuses a state change the graph's rules do not allow, and leaves the task and attempt as they were", async () => {
    const { taskId, lease } = await runningTask();
    const illegal = { ...TO_REVIEW, from: ["running" as const, "done" as const], to: "queued" as const };

    await expect(concludeAttempt(db(), lease, OUTCOME, illegal)).rejects.toThrow(
      "a task cannot move from running to queued",
    );
    await expect(transitionTask(db(), taskId, ["done"], "running")).rejects.toThrow(IllegalTransitionError);

    expect(await getTask(db(), taskId)).toMatchObject({ state: "running" });
    expect(await getAttempt(db(), lease.attemptId)).toMatchObject({ state: "running", finishedAt: null });
  });

  /** A worker paused past its lease cannot leave a half-done step for the worker that took over. */
  describe("recordStepUnderLease", () => {
    it("records the step while the lease holds", async () => {
      const { lease } = await runningTask();

      expect(await recordStepUnderLease(db(), lease, "judged", { verdict: "pass" })).toBe(true);

      expect(await getStep(db(), lease.attemptId, "judged", VERDICT_STEP)).toEqual({ verdict: "pass" });
    });

    it("records nothing under a lease another worker took over", async () => {
      const { lease } = await runningTask();
      await takenOver(lease);

      expect(await recordStepUnderLease(db(), lease, "judged", { verdict: "pass" })).toBe(false);

      expect(await getStep(db(), lease.attemptId, "judged", VERDICT_STEP)).toBeUndefined();
    });

    it("records nothing once the task is no longer running", async () => {
      const { taskId, lease } = await runningTask();
      await transitionTask(db(), taskId, ["running"], "cancelled");

      expect(await recordStepUnderLease(db(), lease, "judged", { verdict: "pass" })).toBe(false);

      expect(await getStep(db(), lease.attemptId, "judged", VERDICT_STEP)).toBeUndefined();
    });
  });

  /** A finished run whose publish job was lost still reaches GitHub: the watchdog queues it again. */
  describe("unpublished attempts", () => {
    it("lists a finished attempt not yet published, and not once it is", async () => {
      const attemptId = await finishedAMinuteAgo();
      expect(await unpublishedAttempts(db())).toEqual([{ id: attemptId }]);

      await recordStep(db(), attemptId, PUBLISHED, {});

      expect(await unpublishedAttempts(db())).toEqual([]);
    });

    it("leaves a just-finished attempt to its own publish job for olderThanMs", async () => {
      const { lease } = await runningTask();
      await concludeAttempt(db(), lease, OUTCOME, TO_REVIEW);

      expect(await unpublishedAttempts(db())).toEqual([]);
      expect(await unpublishedAttempts(db(), 0)).toEqual([{ id: lease.attemptId }]);
    });

    it("requeuePending queues a publish job for it", async () => {
      const attemptId = await finishedAMinuteAgo();
      const calls: { name: string; payload: unknown }[] = [];
      const enqueue: Enqueue = async (name, payload) => void calls.push({ name, payload });

      const requeued = await requeuePending({
        db: db(),
        enqueue,
        log: pino({ level: "silent" }),
        redispatch: async () => 0,
      });

      expect(requeued).toMatchObject({ unpublished: 1 });
      expect(calls.filter((call) => call.name === "publish")).toEqual([
        { name: "publish", payload: { attemptId } },
      ]);
    });
  });
});
