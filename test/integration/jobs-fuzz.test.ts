import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { processJob } from "../../jobs/process-job.ts";
import { parkedDeadLetters } from "../../src/db/dead-letters.ts";
import { receiveWebhook } from "../../src/intake/receive.ts";
import { routeWebhook } from "../../src/intake/route.ts";
import { JOBS, type Enqueue, type JobName } from "../../src/queue/job-catalog.ts";
import { useTestDatabase } from "../helpers/db.ts";
import { createHarness, type Harness } from "../helpers/drover.ts";
import { fuzzDelivery, fuzzSeed } from "../helpers/fuzz-deliveries.ts";
import { githubAnswersEverything } from "../helpers/github.ts";

/** A job that runs longer than this against a GitHub that answers at once is stuck. */
const JOB_LIMIT_MS = 15_000;

class Delayed extends Error {
  constructor(readonly ms: number) {
    super(`delayed ${ms} ms`);
  }
}

/**
 * The jobs behind intake, fuzzed: every delivery intake accepts is recorded and its jobs are run on their
 * last try while GitHub refuses or fails every request. Each job must end, in time: done, or failed for
 * good and parked as a dead letter with its reason, never left to be retried forever, and never crashing
 * the process.
 */
describe("the jobs behind intake, fuzzed", () => {
  const testDb = useTestDatabase();
  let harness: Harness;
  let home: string;
  beforeAll(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), "drover-jobs-fuzz-"));
    harness = createHarness({ database: testDb.database(), home });
  });
  afterAll(async () => {
    await harness.close();
    await rm(home, { recursive: true, force: true });
  });

  it("ends every job an accepted delivery starts, done or parked with a reason, whatever GitHub answers", async () => {
    let acted = 0;
    await fc.assert(
      fc.asyncProperty(fuzzDelivery, fc.constantFrom(403, 404, 410, 422, 500), async (delivery, status) => {
        const route = routeWebhook(delivery.event, delivery.payload);
        if (route.kind !== "dispatch") return; // refused or ignored at intake: the intake fuzz test's
        acted++;
        const jobs: { name: JobName; payload: unknown }[] = [];
        const record: Enqueue = async (name, payload) => void jobs.push({ name, payload });
        const id = `jobs-fuzz-${acted}-${Date.now()}`;
        await receiveWebhook(
          { db: testDb.database().db, enqueue: record, log: harness.deps.log },
          { id, name: delivery.event, payload: delivery.payload },
        );
        const started = [...jobs];
        const restore = githubAnswersEverything(status);
        try {
          for (const job of started) await runOnLastTry(job, `${job.name}-${id}-${jobs.indexOf(job)}`);
        } finally {
          restore();
        }
      }),
      { numRuns: 150, seed: fuzzSeed(), endOnFailure: true },
    );
    expect(acted).toBeGreaterThan(20);
  }, 240_000);

  /** Runs one job as the worker's last try would; fails the property unless it ends as it must. */
  async function runOnLastTry(job: { name: JobName; payload: unknown }, jobId: string): Promise<void> {
    const run = processJob({ ...harness.deps, enqueue: async () => {} })(job.name, job.payload, {
      jobId,
      attemptsMade: JOBS[job.name].options.attempts - 1,
      signal: AbortSignal.timeout(JOB_LIMIT_MS),
      delay: async (ms) => {
        throw new Delayed(ms);
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<"stuck">(
      (resolve) => (timer = setTimeout(() => resolve("stuck"), JOB_LIMIT_MS)),
    );
    const ended = await Promise.race([
      run.then(
        () => "done" as const,
        (error: unknown) => error,
      ),
      stuck,
    ]);
    clearTimeout(timer);
    expect(ended, `${job.name} ${JSON.stringify(job.payload)} did not end`).not.toBe("stuck");
    if (ended === "done") return;
    if (ended instanceof Delayed) {
      // Waiting is only for GitHub's rate limits or a busy issue, and never for long.
      expect(ended.ms).toBeLessThanOrEqual(60 * 60_000);
      return;
    }
    expect(ended).toBeInstanceOf(Error);
    const parked = await parkedDeadLetters(testDb.database().db, { jobId });
    expect(parked, `${job.name} failed on its last try without being parked: ${String(ended)}`).toHaveLength(
      1,
    );
    expect(parked[0]!.reason.length).toBeGreaterThan(0);
  }
});
