import pino from "pino";
import { eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { DroverConfig } from "../../../src/config/schema.ts";
import { attempts, dependencies, events, issues, repositories, tasks } from "../../../src/db/schema.ts";
import { bumpGeneration } from "../../../src/db/graph-rows.ts";
import type { Enqueue } from "../../../src/queue/job-catalog.ts";
import { schedulePass } from "../../../src/scheduler/schedule.ts";
import { useTestDatabase } from "../../helpers/db.ts";

const REPO = { id: 900, fullName: "octo/graph", installationId: 5 };
const config = DroverConfig.parse({ max_workers: 2 });

/** The scheduling pass against real PostgreSQL rows; the queue is a recorder. */
describe("schedulePass", () => {
  const testDb = useTestDatabase();
  const db = () => testDb.database().db;
  let queued: { name: string; payload: unknown }[];
  const enqueue: Enqueue = async (name, payload) => void queued.push({ name, payload });
  const pass = (capacity = 4) =>
    schedulePass({ db: db(), enqueue, log: pino({ level: "silent" }), capacity: async () => capacity });

  beforeEach(async () => {
    queued = [];
    await db().delete(events);
    await db().delete(attempts);
    await db().delete(dependencies);
    await db().delete(issues);
    await db().delete(tasks);
    await db().delete(repositories);
    await db()
      .insert(repositories)
      .values({ ...REPO, cloneUrl: "file:///nowhere", defaultBranch: "main" });
  });

  async function addTask(
    number: number,
    state: "ready" | "waiting" | "done" | "running" = "ready",
    taskConfig: DroverConfig = config,
  ) {
    await db()
      .insert(issues)
      .values({
        key: `${REPO.fullName}#${number}`,
        installationId: REPO.installationId,
        repoFullName: REPO.fullName,
        number,
        title: `Task ${number}`,
        linksSyncedAt: new Date(),
      });
    const [row] = await db()
      .insert(tasks)
      .values({
        repoId: REPO.id,
        issueNumber: number,
        title: `Task ${number}`,
        state,
        createdBy: "hubber",
        modifiedBy: "mona",
        branch: `drover/${number}-task`,
        config: taskConfig,
      })
      .returning();
    return row!;
  }
  const link = (dependent: number, blocker: number) =>
    db()
      .insert(dependencies)
      .values({
        dependent: `${REPO.fullName}#${dependent}`,
        blocker: `${REPO.fullName}#${blocker}`,
        source: "native",
      });
  const stateOf = async (id: number) => (await db().select().from(tasks).where(eq(tasks.id, id)))[0]?.state;

  it("queues the head of a chain with an attempt and a run-task job, and the rest wait", async () => {
    const a = await addTask(1);
    const b = await addTask(2);
    const c = await addTask(3);
    await link(2, 1);
    await link(3, 2);
    const result = await pass();
    expect(result.started).toEqual([a.id]);
    expect(await stateOf(a.id)).toBe("queued");
    expect(await stateOf(b.id)).toBe("waiting");
    expect(await stateOf(c.id)).toBe("waiting");
    const [attempt] = await db().select().from(attempts).where(eq(attempts.taskId, a.id));
    expect(queued).toContainEqual({ name: "run-task", payload: { attemptId: attempt!.id } });
    // Every task whose state moved is shown again on GitHub.
    const announced = queued
      .filter((q) => q.name === "announce")
      .map((q) => (q.payload as { taskId: number }).taskId);
    expect(new Set(announced)).toEqual(new Set([a.id, b.id, c.id]));
  });

  it("starts the next link of the chain when its blocker is done, and nothing twice", async () => {
    const a = await addTask(1, "done");
    const b = await addTask(2, "waiting");
    await link(2, 1);
    expect((await pass()).started).toEqual([b.id]);
    expect((await pass()).started).toEqual([]);
    expect(await db().select().from(attempts).where(eq(attempts.taskId, b.id))).toHaveLength(1);
    expect(await stateOf(a.id)).toBe("done");
  });

  it("records a cycle on each member once, and none of them runs", async () => {
    const a = await addTask(4);
    const b = await addTask(7);
    await link(4, 7);
    await link(7, 4);
    await pass();
    const rows = await db().select().from(tasks).orderBy(tasks.id);
    expect(rows.map((r) => r.cycle)).toEqual(["#4 → #7 → #4", "#4 → #7 → #4"]);
    expect(rows.map((r) => r.state)).toEqual(["waiting", "waiting"]);
    queued = [];
    await pass();
    expect(queued).toEqual([]); // nothing changed: nothing announced again
    expect([a.id, b.id]).toHaveLength(2);
  });

  it("reviews again, after a failed pass, the tasks that pass had to decide", async () => {
    await addTask(1, "done");
    const b = await addTask(2, "waiting");
    await link(2, 1);
    const log = pino({ level: "silent" });
    // The graph in memory takes the change in, then the pass fails before it writes anything.
    await expect(
      schedulePass({
        db: db(),
        enqueue,
        log,
        capacity: async () => {
          throw new Error("Redis went away");
        },
      }),
    ).rejects.toThrow("Redis went away");
    expect(await stateOf(b.id)).toBe("waiting");
    expect((await pass()).started).toEqual([b.id]);
  });

  it("never exceeds max_workers, counting tasks already running", async () => {
    await addTask(1, "running");
    await addTask(2);
    await addTask(3);
    await addTask(4);
    expect((await pass(10)).started).toHaveLength(1);
  });

  it("goes round again when the graph changed during the pass", async () => {
    await addTask(1);
    let bumped = false;
    const result = await schedulePass({
      db: db(),
      enqueue: async (name, payload) => {
        queued.push({ name, payload });
        if (!bumped) {
          bumped = true;
          await bumpGeneration(db());
        }
      },
      log: pino({ level: "silent" }),
      capacity: async () => 4,
    });
    expect(result.rounds).toBe(2);
  });

  it("starts a stacked task on its blocker's branch once the blocker's attempt passed and it is in review", async () => {
    const stacking = DroverConfig.parse({ max_workers: 2, stack: true });
    const blocker = await addTask(1, "running");
    const dependent = await addTask(2, "waiting", stacking);
    await link(2, 1);
    const [running] = await db()
      .insert(attempts)
      .values({ taskId: blocker.id, number: 1, triggeredBy: "mona", state: "running" })
      .returning();
    expect((await pass()).started).toEqual([]);

    await db()
      .update(attempts)
      .set({ state: "finished", conclusion: "success" })
      .where(eq(attempts.id, running!.id));
    await db().update(tasks).set({ state: "review" }).where(eq(tasks.id, blocker.id));
    expect((await pass()).started).toEqual([dependent.id]);
    const [attempt] = await db().select().from(attempts).where(eq(attempts.taskId, dependent.id));
    expect(attempt?.start).toEqual({
      from: "base",
      cause: "label",
      by: "mona",
      onto: { branch: "drover/1-task", taskId: blocker.id, issueNumber: 1 },
    });
    const [row] = await db().select().from(tasks).where(eq(tasks.id, dependent.id));
    expect(row?.stateReason).toMatch(/^stacked on #1/);
  });

  it("drops the stack from a ready task whose blocker merged before it started", async () => {
    const stacking = DroverConfig.parse({ max_workers: 2, stack: true });
    const blocker = await addTask(1, "done");
    const dependent = await addTask(2, "ready", stacking);
    await link(2, 1);
    await db()
      .update(tasks)
      .set({
        stateReason: "stacked on #1: starts on its branch",
        nextStart: {
          from: "branch",
          cause: "retry",
          by: "mona",
          onto: { branch: "drover/1-task", taskId: blocker.id, issueNumber: 1 },
        },
      })
      .where(eq(tasks.id, dependent.id));
    expect((await pass()).started).toEqual([dependent.id]);
    const [attempt] = await db().select().from(attempts).where(eq(attempts.taskId, dependent.id));
    expect(attempt?.start).toEqual({ from: "branch", cause: "retry", by: "mona" });
  });
});
