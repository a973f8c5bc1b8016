import { randomInt } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { budgetKeyPrefix, readBudgets, RequestBudget, shareBudgets } from "../../../src/github/budget.ts";
import { TEST_REDIS_URL } from "../../helpers/services.ts";

const headers = (values: Record<string, string> = {}) => ({ get: (name: string) => values[name] ?? null });
const comment = {
  method: "POST",
  url: "https://api.github.com/repos/o/r/issues/1/comments",
  status: 201,
  headers: headers(),
};

/**
 * GitHub's limits are per installation, whichever worker sends the request: two worker processes (two
 * budgets) share their counts through Redis, and `drover status`, a third process, reads their sum.
 */
describe("budgets shared through Redis", () => {
  const redis = new Redis(TEST_REDIS_URL);
  // A deployment of its own (DROVER_QUEUE_PREFIX), as every test file's Drover has.
  const PREFIX = `budget-test-${randomInt(1_000_000_000)}`;
  const installationId = randomInt(1_000_000, 2_000_000_000);
  afterAll(async () => {
    await redis.del(`${budgetKeyPrefix(PREFIX)}${installationId}`);
    redis.disconnect();
  });

  it("add up across processes for deferCosmetic and for drover status", async () => {
    const workerA = new RequestBudget();
    const workerB = new RequestBudget();
    const reset = String(Math.floor(Date.now() / 1000) + 1800);
    for (let i = 0; i < 40; i++) workerA.record(installationId, comment);
    for (let i = 0; i < 30; i++)
      workerB.record(installationId, {
        ...comment,
        headers: headers({
          "x-ratelimit-limit": "5000",
          "x-ratelimit-remaining": String(4000 - i),
          "x-ratelimit-reset": reset,
        }),
      });
    const a = shareBudgets(workerA, () => redis, { processId: "worker-a", queuePrefix: PREFIX });
    const b = shareBudgets(workerB, () => redis, { processId: "worker-b", queuePrefix: PREFIX });
    try {
      expect(workerA.deferCosmetic(installationId)).toBe(false);
      await a.flush();
      await b.flush();
      await a.flush();

      // 70 content writes in the last minute between them: past 80% of 80.
      expect(workerA.budgetOf(installationId)).toMatchObject({ contentWritesLastMinute: 70, processes: 2 });
      expect(workerA.deferCosmetic(installationId)).toBe(true);
      expect(workerB.deferCosmetic(installationId)).toBe(true);

      const rows = (await readBudgets(redis, PREFIX)).filter((row) => row.installationId === installationId);
      expect(rows).toEqual([
        {
          installationId,
          requests: 70,
          notModified: 0,
          writes: 70,
          contentWrites: 70,
          contentWritesLastMinute: 70,
          rate: { limit: 5000, remaining: 3971, resetAt: new Date(Number(reset) * 1000) },
          processes: 2,
        },
      ]);
    } finally {
      a.stop();
      b.stop();
    }
  });

  it("drop a process that has stopped sharing", async () => {
    const gone = {
      at: Date.now() - 5 * 60_000,
      requests: 9,
      notModified: 0,
      writes: 9,
      contentWrites: 9,
      contentWritesLastMinute: 9,
      rate: null,
    };
    const key = `${budgetKeyPrefix(PREFIX)}${installationId + 1}`;
    await redis.hset(key, "worker-gone", JSON.stringify(gone), "worker-bad", "{not json");
    try {
      const rows = (await readBudgets(redis, PREFIX)).filter(
        (row) => row.installationId === installationId + 1,
      );
      expect(rows).toEqual([]);
    } finally {
      await redis.del(key);
    }
  });
});
