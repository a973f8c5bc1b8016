import { eq } from "drizzle-orm";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { processJob } from "../../../jobs/process-job.ts";
import { parkedDeadLetters } from "../../../src/db/dead-letters.ts";
import { recordDelivery } from "../../../src/db/deliveries.ts";
import { deadLetters, deliveries } from "../../../src/db/schema.ts";
import { redispatchUnfinished } from "../../../src/intake/receive.ts";
import { JOBS, type Enqueue } from "../../../src/queue/job-catalog.ts";
import { retryDeadLetters } from "../../../src/scheduler/retry-dead-letters.ts";
import { requeuePending } from "../../../src/scheduler/watchdog.ts";
import { settled, useDrover } from "../../helpers/drover.ts";
import { mockInstallationToken } from "../../helpers/github.ts";
import {
  agentConfig,
  mockConfig,
  mockFirstStatus,
  mockIssueState,
  mockPermission,
  mockRunThatFails,
  recorder,
  taskOf,
  REPO_PATH,
} from "../../helpers/github-flows.ts";
import { MAINTAINER, issueLabeled } from "../../helpers/payloads.ts";

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

/**
 * Poison work is parked, not looped: a job that fails for good is recorded once as a dead letter with its
 * reason, the watchdog leaves its work alone however often it runs, and `drover retry` runs it again.
 */
describe("dead letters", () => {
  const { db, harness, repo, github } = useDrover();

  it("parks a start-task job GitHub refused, leaves it to the watchdog, and runs it again on retry", async () => {
    const issue = { number: 41, title: "Poison", labels: ["drover"] };
    mockInstallationToken(github.api().persist(), repo().installationId);
    // The app may not read the repository's contents: GitHub refuses, and start-task fails for good.
    github
      .api()
      .get(`${REPO_PATH}/contents/${encodeURIComponent(".github/drover.yml")}`)
      .reply(403, {
        message: "Resource not accessible by integration",
        documentation_url: "https://docs.github.com/rest",
      });

    await harness().receive("issues", issueLabeled({ repo: repo(), ...issue }), "d-poison");
    await settled(harness());

    const [letter, ...others] = await parkedDeadLetters(db());
    expect(others).toEqual([]);
    expect(letter).toMatchObject({
      jobName: "start-task",
      jobId: "start-d-poison",
      deliveryId: "d-poison",
      payload: { deliveryId: "d-poison" },
      attempts: 1,
      failures: 1,
      repoFullName: repo().fullName,
    });
    expect(letter?.reason).toMatch(/GitHub refused .*\(403: Resource not accessible by integration\)/);
    expect(await harness().queue.state("main", "start-d-poison")).toBe("failed");

    // The watchdog, twice (as two workers would, or one pass and the next), with the delivery long due:
    // it queues nothing for it and parks nothing twice.
    await db()
      .update(deliveries)
      .set({ receivedAt: new Date(Date.now() - 60_000) })
      .where(eq(deliveries.id, "d-poison"));
    const queued: string[] = [];
    const enqueue: Enqueue = async (name, payload) => {
      queued.push(name);
      await harness().enqueue(name, payload);
    };
    const deps = { db: db(), enqueue, log };
    const passes = [];
    for (let pass = 0; pass < 2; pass++)
      passes.push(await requeuePending({ ...deps, redispatch: () => redispatchUnfinished(deps) }));
    expect(passes).toEqual([
      { deliveries: 0, attempts: 0, lapsed: 0, unpublished: 0 },
      { deliveries: 0, attempts: 0, lapsed: 0, unpublished: 0 },
    ]);
    expect(queued.filter((name) => name !== "schedule")).toEqual([]);
    await settled(harness());
    expect(await harness().queue.state("main", "start-d-poison")).toBe("failed");
    expect(await db().select().from(deadLetters)).toMatchObject([{ failures: 1, attempts: 1 }]);

    // Fixed (the app was given access): the retry queues it again, and the task starts.
    const sent = recorder();
    const api = github.api();
    mockConfig(api, agentConfig("fail.mjs"));
    mockPermission(api, MAINTAINER.login, "write");
    mockFirstStatus(api, sent, issue.number, 9041);
    mockRunThatFails(api, { issue });
    mockIssueState(github.optional(), sent, { issue: issue.number, commentId: 9041, labels: ["drover"] });

    const result = await retryDeadLetters({ db: db(), queue: harness().queue }, { deliveryId: "d-poison" });
    expect(result).toMatchObject({
      kind: "retried",
      letters: [
        { letter: { jobId: "start-d-poison" }, outcome: { kind: "queued", jobId: "start-d-poison" } },
      ],
    });
    await harness().drain();

    const { task, attempts } = await taskOf(db(), repo(), issue.number);
    expect(task?.state).toBe("failed");
    expect(attempts).toHaveLength(1);
    expect(await parkedDeadLetters(db())).toEqual([]);
    const [row] = await db().select().from(deadLetters).where(eq(deadLetters.jobId, "start-d-poison"));
    expect(row?.retriedAt).toBeInstanceOf(Date);
    expect(await retryDeadLetters({ db: db(), queue: harness().queue }, { deliveryId: "d-poison" })).toEqual({
      kind: "unknown",
      why: "delivery d-poison has nothing parked: none of its jobs failed for good, or they were retried already",
    });
  });

  it("parks a job that fails on its last try, and only then", async () => {
    await recordDelivery(db(), {
      id: "d-flaky",
      event: "issues",
      action: "labeled",
      installationId: repo().installationId,
      repoFullName: repo().fullName,
      payload: issueLabeled({ repo: repo(), number: 42, title: "Flaky" }),
    });
    // GitHub cannot be reached (not GitHub's word): the job is tried again, until its last try.
    const unreachable = { installation: () => Promise.reject(new Error("socket hang up")) };
    const run = processJob({ ...harness().deps, github: unreachable as never });
    const context = (attemptsMade: number) => ({
      jobId: "start-d-flaky",
      attemptsMade,
      signal: undefined,
      delay: () => Promise.reject(new Error("no wait expected")),
    });

    await expect(run("start-task", { deliveryId: "d-flaky" }, context(0))).rejects.toThrow(/socket hang up/);
    expect(await parkedDeadLetters(db(), { deliveryId: "d-flaky" })).toEqual([]);

    const tries = JOBS["start-task"].options.attempts;
    await expect(run("start-task", { deliveryId: "d-flaky" }, context(tries - 1))).rejects.toThrow(
      /socket hang up/,
    );
    const parked = await parkedDeadLetters(db(), { deliveryId: "d-flaky" });
    expect(parked).toMatchObject([
      {
        jobName: "start-task",
        jobId: "start-d-flaky",
        attempts: tries,
        failures: 1,
        reason: "socket hang up",
      },
    ]);
    await db().delete(deadLetters);
    await db().update(deliveries).set({ processedAt: new Date() }).where(eq(deliveries.id, "d-flaky"));
  });
});
