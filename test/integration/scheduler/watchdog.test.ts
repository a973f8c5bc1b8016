import { eq, sql } from "drizzle-orm";
import pino from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import {
  claimAttempt,
  concludeAttempt,
  pendingAttempts,
  PUBLISHED,
  recordStep,
  unpublishedAttempts,
} from "../../../src/db/attempts.ts";
import { readEnv } from "../../../src/config/env.ts";
import { recordDeadLetter } from "../../../src/db/dead-letters.ts";
import { recordDelivery } from "../../../src/db/deliveries.ts";
import { upsertRepository } from "../../../src/db/repositories.ts";
import { attempts, deliveries, requeues } from "../../../src/db/schema.ts";
import { queueTasks, triggerTask } from "../../../src/db/tasks.ts";
import { redispatchUnfinished } from "../../../src/intake/receive.ts";
import { jobIdOf, type Enqueue } from "../../../src/queue/job-catalog.ts";
import type { WorkQueue } from "../../../src/queue/queue.ts";
import { requeuePending, startWatchdog, type WatchdogDeps } from "../../../src/scheduler/watchdog.ts";
import { useTestDatabase } from "../../helpers/db.ts";
import { OCTO_REPO, issueLabeled } from "../../helpers/payloads.ts";
import { claimedTask, taskTrigger } from "../../helpers/tasks.ts";

const log = pino({ level: "silent" });

/**
 * The watchdog (PostgreSQL → queue) never loops: what failed for good is left parked, and each item's
 * requeues wait longer and longer, in PostgreSQL, so every worker process keeps to the same pace.
 */
describe("the watchdog", () => {
  const testDb = useTestDatabase();
  const db = () => testDb.database().db;
  let issue = 100;
  const queued: { name: string; payload: unknown }[] = [];
  const enqueue: Enqueue = async (name, payload) => void queued.push({ name, payload });
  const deps: WatchdogDeps = {
    db: {} as WatchdogDeps["db"],
    enqueue,
    log,
    redispatch: () => redispatchUnfinished({ db: db(), enqueue }),
  };
  const pass = () => requeuePending({ ...deps, db: db() });
  const requeued = (name: string) => queued.filter((job) => job.name === name).map((job) => job.payload);

  beforeAll(async () => {
    await upsertRepository(db(), OCTO_REPO);
  });

  /** A finished attempt not published, as if it finished a minute ago (its publish job was lost). */
  async function unpublished(): Promise<number> {
    const { lease } = await claimedTask(db(), ++issue, "worker");
    const moved = await concludeAttempt(
      db(),
      lease,
      { conclusion: "success" },
      { from: ["running"], to: "review", fields: {}, cause: {} },
    );
    if (!moved) throw new Error("not concluded");
    await db()
      .update(attempts)
      .set({ finishedAt: sql`now() - interval '1 minute'` })
      .where(eq(attempts.id, lease.attemptId));
    return lease.attemptId;
  }

  /** The wait the item's last requeue set, in seconds; then that wait is made to be over. */
  async function waitAndSkipIt(key: string): Promise<number> {
    const [row] = await db()
      .select({ seconds: sql<number>`extract(epoch from ${requeues.nextAt} - ${requeues.lastAt})::int` })
      .from(requeues)
      .where(eq(requeues.key, key));
    await db()
      .update(requeues)
      .set({ nextAt: sql`now()` })
      .where(eq(requeues.key, key));
    return Number(row?.seconds);
  }

  it("requeues the same attempt and delivery at once, then after 10 s, 20 s, 40 s, ... up to 5 minutes", async () => {
    queued.length = 0;
    const attemptId = await unpublished();
    await recordDelivery(db(), {
      id: "d-slow",
      event: "issues",
      action: "labeled",
      installationId: OCTO_REPO.installationId,
      repoFullName: OCTO_REPO.fullName,
      payload: issueLabeled({ repo: OCTO_REPO, number: ++issue, title: "Slow" }),
      receivedAt: new Date(Date.now() - 60_000),
    });

    expect(await pass()).toMatchObject({ deliveries: 1, unpublished: 1 });
    // The next pass comes before either wait is over: nothing is queued again.
    expect(await pass()).toMatchObject({ deliveries: 0, unpublished: 0 });
    expect(requeued("publish")).toEqual([{ attemptId }]);
    expect(requeued("start-task")).toEqual([{ deliveryId: "d-slow" }]);

    const waits: number[] = [];
    const deliveryWaits: number[] = [];
    for (let n = 0; n < 7; n++) {
      waits.push(await waitAndSkipIt(`publish-${attemptId}`));
      deliveryWaits.push(await waitAndSkipIt("delivery-d-slow"));
      expect(await pass()).toMatchObject({ deliveries: 1, unpublished: 1 });
    }
    expect(waits).toEqual([10, 20, 40, 60, 60, 60, 60]);
    expect(deliveryWaits).toEqual(waits);
    expect(requeued("publish")).toHaveLength(8);
    expect(requeued("start-task")).toHaveLength(8);
    await db().update(deliveries).set({ processedAt: new Date() }).where(eq(deliveries.id, "d-slow"));
    await recordStep(db(), attemptId, PUBLISHED, {});
  });

  /** A job of the attempt failed for good, as the job wrapper records it. */
  async function park(jobName: "run-task" | "publish", attemptId: number): Promise<void> {
    await recordDeadLetter(db(), {
      jobId: jobIdOf(jobName, { attemptId }),
      jobName,
      payload: { attemptId },
      deliveryId: null,
      reason: "GitHub refused (422)",
      attempts: 3,
    });
  }

  it("leaves attempts whose jobs failed for good", async () => {
    queued.length = 0;
    const finished = await unpublished();
    await park("publish", finished);
    const trigger = await triggerTask(db(), taskTrigger(++issue));
    if (trigger.kind === "applied-before") throw new Error("no task");
    await queueTasks(db(), [trigger.task.id]);
    const [waiting] = await pendingAttempts(db());
    if (!waiting) throw new Error("no queued attempt");
    await park("run-task", waiting.id);
    // A lapsed attempt with a parked run-task job (its lease ran out, the job failed for good).
    const { lease } = await claimedTask(db(), ++issue, "worker");
    await db()
      .update(attempts)
      .set({ leaseExpiresAt: sql`now() - interval '1 second'` })
      .where(eq(attempts.id, lease.attemptId));
    await park("run-task", lease.attemptId);

    expect(await unpublishedAttempts(db())).toEqual([]);
    expect(await pendingAttempts(db())).toEqual([]);
    for (let n = 0; n < 2; n++)
      expect(await pass()).toEqual({ deliveries: 0, attempts: 0, lapsed: 0, unpublished: 0 });
    expect(queued.filter((job) => job.name !== "schedule")).toEqual([]);
    expect(await claimAttempt(db(), lease.attemptId, "other")).toMatchObject({ kind: "claimed" });
  });

  it("schedules the worker's reconcile every DROVER_RECONCILE_EVERY_MS, every 10 minutes by default", async () => {
    // The queue as the watchdog uses it: only its repeating reconcile is looked at here.
    const schedules: { id: string; everyMs: number; name: string }[] = [];
    const queue = {
      every: async (id: string, everyMs: number, name: string) => void schedules.push({ id, everyMs, name }),
    } as unknown as WorkQueue;
    const env = (value?: string) => readEnv(value === undefined ? {} : { DROVER_RECONCILE_EVERY_MS: value });

    for (const value of [undefined, "3600000"]) {
      const watchdog = await startWatchdog({
        ...deps,
        db: db(),
        queue,
        reconcileEveryMs: env(value).DROVER_RECONCILE_EVERY_MS,
      });
      watchdog.stop();
    }

    expect(schedules).toEqual([
      { id: "every-reconcile", everyMs: 600_000, name: "reconcile" },
      { id: "every-reconcile", everyMs: 3_600_000, name: "reconcile" },
    ]);
  });
});
