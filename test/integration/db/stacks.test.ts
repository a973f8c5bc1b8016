import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import type { AttemptStart } from "../../../src/db/attempt-start.ts";
import { concludeAttempt } from "../../../src/db/attempts.ts";
import { upsertRepository } from "../../../src/db/repositories.ts";
import { attempts, tasks } from "../../../src/db/schema.ts";
import { pullBase, pullBasesOf, stackOf, tasksStackedOn } from "../../../src/db/stacks.ts";
import { useTestDatabase } from "../../helpers/db.ts";
import { OCTO_REPO } from "../../helpers/payloads.ts";
import { claimedTask } from "../../helpers/tasks.ts";

/**
 * Which blocker a task's pull request is stacked on, and so which branch it targets: the `onto` of the
 * attempt that last made its branch afresh, while that blocker is not done.
 */
describe("stacked pull requests", () => {
  const testDb = useTestDatabase();
  const db = () => testDb.database().db;

  beforeAll(async () => {
    await upsertRepository(db(), OCTO_REPO);
  });

  /** A task in review with pull request `issue + 100`, its first attempt started `start`. */
  async function inReview(issue: number, start?: AttemptStart): Promise<number> {
    const { taskId, lease } = await claimedTask(db(), issue, "worker");
    if (start) await db().update(attempts).set({ start }).where(eq(attempts.id, lease.attemptId));
    await concludeAttempt(
      db(),
      lease,
      { conclusion: "success", reason: "passed", summary: "Done." },
      { from: ["running"], to: "review", fields: { prNumber: issue + 100 }, cause: {} },
    );
    return taskId;
  }
  const onto = (taskId: number, issueNumber: number) => ({
    branch: `drover/${issueNumber}-task-${issueNumber}`,
    taskId,
    issueNumber,
  });
  const bases = async (...ids: number[]) => {
    return [
      ...(
        await pullBasesOf(
          db(),
          ids.map((id) => ({ id, base: "main" })),
        )
      ).values(),
    ];
  };

  it("targets the blocker's branch while the blocker is open, the base once it is done", async () => {
    const blocker = await inReview(61);
    const stacked = await inReview(62, { from: "base", cause: "label", by: "a", onto: onto(blocker, 61) });
    const alone = await inReview(63);

    expect(await stackOf(db(), stacked)).toEqual({ onto: onto(blocker, 61), blockerState: "review" });
    expect(await stackOf(db(), alone)).toBeNull();
    expect(await bases(blocker, stacked, alone)).toEqual(["main", "drover/61-task-61", "main"]);
    expect(await tasksStackedOn(db(), blocker)).toEqual([
      { id: stacked, issueNumber: 62, prNumber: 162, state: "review" },
    ]);

    await db().update(tasks).set({ state: "done" }).where(eq(tasks.id, blocker));
    expect(await bases(stacked)).toEqual(["main"]);
    expect(pullBase(await stackOf(db(), stacked), "main")).toBe("main");
  });

  it("keeps the stack through attempts on the branch, and drops it with a fresh start from the base", async () => {
    const blocker = await inReview(64);
    const stacked = await inReview(65, { from: "base", cause: "label", by: "a", onto: onto(blocker, 64) });
    const again = async (start: AttemptStart) =>
      db()
        .insert(attempts)
        .values({ taskId: stacked, number: (await nextNumber(stacked)) + 1, triggeredBy: "a", start });

    await again({ from: "branch", cause: "update", by: "a", merge: { branch: "drover/64-task-64" } });
    expect(await bases(stacked)).toEqual(["drover/64-task-64"]);
    await again({ from: "base", cause: "retry", by: "a" });
    expect(await bases(stacked)).toEqual(["main"]);
    expect(await tasksStackedOn(db(), blocker)).toEqual([]);
  });

  async function nextNumber(taskId: number): Promise<number> {
    const rows = await db().select().from(attempts).where(eq(attempts.taskId, taskId));
    return Math.max(...rows.map((row) => row.number));
  }
});
