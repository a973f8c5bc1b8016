import { beforeAll, describe, expect, it } from "vitest";
import { workAttemptsUpTo } from "../../../src/db/attempts.ts";
import { upsertRepository } from "../../../src/db/repositories.ts";
import { attempts } from "../../../src/db/schema.ts";
import { useTestDatabase } from "../../helpers/db.ts";
import { OCTO_REPO } from "../../helpers/payloads.ts";
import { claimedTask } from "../../helpers/tasks.ts";

/**
 * `max_attempts` bounds tries at a task's work: attempts that only merged its pull request's base in (a
 * base that moved under it, conflicts resolved) do not spend it, so a task whose base moved three times
 * still gets its retries when a rework fails (run-task's conclude counts with this).
 */
describe("attempts at the work", () => {
  const testDb = useTestDatabase();
  const db = () => testDb.database().db;

  beforeAll(async () => {
    await upsertRepository(db(), OCTO_REPO);
  });

  it("counts every attempt but those that merged the base in, up to the one asked about", async () => {
    const { taskId } = await claimedTask(db(), 801, "worker-a");
    const merge = (cause: "update" | "conflict") => ({
      from: "branch" as const,
      cause,
      by: "mona",
      merge: { branch: "main" },
    });
    await db()
      .insert(attempts)
      .values([
        { taskId, number: 2, state: "finished", triggeredBy: "mona", start: merge("update") },
        { taskId, number: 3, state: "finished", triggeredBy: "mona", start: merge("conflict") },
        {
          taskId,
          number: 4,
          state: "running",
          triggeredBy: "mona",
          start: { from: "branch", cause: "rework", by: "mona" },
        },
      ]);

    expect(await workAttemptsUpTo(db(), taskId, 1)).toBe(1);
    expect(await workAttemptsUpTo(db(), taskId, 3)).toBe(1);
    expect(await workAttemptsUpTo(db(), taskId, 4)).toBe(2);
  });
});
