import { randomBytes } from "node:crypto";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { DEFAULT_FAULTS } from "../../src/demo/chaos/defaults.ts";
import { MAX_RECOVERY_SECONDS } from "../../src/demo/chaos/report.ts";
import { runChaos } from "../../src/demo/chaos/run-chaos.ts";
import { TEST_DATABASE_URL, TEST_REDIS_URL } from "../helpers/services.ts";

/**
 * `drover chaos`, one run: a worker killed (-9) mid-agent, past deliveries sent again, some held back
 * and sent out of order. No FLUSHALL or PostgreSQL restart: other test files share those servers.
 */
describe("drover chaos", () => {
  it("finishes the demo with nothing lost or made twice when a worker dies and webhooks misbehave", async () => {
    const log: string[] = [];
    const out = new PassThrough();
    const report = await runChaos({
      runs: 1,
      seed: 20250101,
      databaseUrl: TEST_DATABASE_URL,
      databaseName: `drover_chaos_test_${randomBytes(4).toString("hex")}`,
      redisUrl: TEST_REDIS_URL,
      // A killed worker's task is taken over within about 12 s, not 30 s.
      leaseMs: 6_000,
      faults: {
        ...DEFAULT_FAULTS,
        kills: 1,
        queueFlushes: 0,
        pgRestarts: 0,
        duplicates: 4,
        reorderChance: 0.2,
      },
      timeoutMs: 75_000,
      out,
      log: (line) => log.push(line),
    });
    const failure = `chaos said:\n${log.join("\n")}`;
    expect(report, failure).toMatchObject({
      runs: 1,
      tasks: 8,
      tasksDone: 8,
      lostTasks: 0,
      duplicatePRs: 0,
      duplicateComments: 0,
      duplicatePushes: 0,
      ok: true,
    });
    expect(report.faults.kill, failure).toBe(1);
    expect(report.faults.duplicate, failure).toBeGreaterThan(0);
    expect(report.longestRecoverySeconds).toBeLessThanOrEqual(MAX_RECOVERY_SECONDS);
    expect(JSON.parse(String(out.read()))).toEqual(report);
  }, 110_000);
});
