import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import pino from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { requeuePending } from "../../src/scheduler/watchdog.ts";
import { getDelivery, recordDelivery } from "../../src/db/deliveries.ts";
import { deliveries } from "../../src/db/schema.ts";
import { receiveWebhook, redispatchUnfinished, type IntakeDeps } from "../../src/intake/receive.ts";
import { enqueuer, type Enqueue, type JobName } from "../../src/queue/job-catalog.ts";
import { WorkQueue } from "../../src/queue/queue.ts";
import { connectRedis } from "../../src/queue/redis.ts";
import { useTestDatabase } from "../helpers/db.ts";
import { issueClosed, issueLabeled, pullRequestClosed, pushed } from "../helpers/payloads.ts";
import { TEST_REDIS_URL } from "../helpers/services.ts";

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
const newId = () => randomBytes(8).toString("hex");

describe("webhook intake", () => {
  const testDb = useTestDatabase();
  let connection: ReturnType<typeof connectRedis>;
  let queue: WorkQueue;
  let queued: { name: JobName; payload: unknown }[];
  let deps: IntakeDeps;

  beforeAll(() => {
    connection = connectRedis(TEST_REDIS_URL);
  });
  beforeEach(async () => {
    // A queue of its own per test, so counts start at zero.
    queue = new WorkQueue(connection, `drover-test-intake-${newId()}`, (error) =>
      log.debug({ err: error }, "queue error"),
    );
    const enqueue = enqueuer(queue);
    queued = [];
    deps = {
      db: testDb.database().db,
      log,
      enqueue: (async (name, payload) => {
        queued.push({ name, payload });
        await enqueue(name, payload);
      }) as Enqueue,
    };
    return () => queue.close();
  });
  afterAll(() => connection.disconnect());

  it("records a labelled issue and queues start-task alone (it is the label's one sync)", async () => {
    const id = newId();
    const payload = issueLabeled({ number: 12, title: "Add a changelog" });

    expect((await receiveWebhook(deps, { id, name: "issues", payload })).outcome).toBe("queued");

    expect(await getDelivery(deps.db, id)).toMatchObject({
      event: "issues",
      action: "labeled",
      repoFullName: "octo-org/widgets",
      installationId: 77,
      dispatchedAt: expect.any(Date),
      processedAt: null,
      payload,
    });
    expect(queued).toEqual([{ name: "start-task", payload: { deliveryId: id } }]);
    expect((await queue.counts()).wait).toBe(1);
  });

  it("queues only a sync from the payload for an issue change no job acts on, and marks the delivery processed", async () => {
    const id = newId();
    const payload = { ...issueLabeled({ number: 17, title: "Edited" }), action: "edited" };

    expect((await receiveWebhook(deps, { id, name: "issues", payload })).outcome).toBe("queued");

    expect(queued).toEqual([
      {
        name: "sync-issue",
        payload: {
          installationId: 77,
          repoFullName: "octo-org/widgets",
          number: 17,
          links: false,
          cause: `${id}-0`,
          deliveryId: id,
        },
      },
    ]);
    expect(await getDelivery(deps.db, id)).toMatchObject({
      dispatchedAt: expect.any(Date),
      processedAt: expect.any(Date),
      outcome: "dispatched",
    });
  });

  it("queues close-task and a sync of the issue's state when an issue is closed", async () => {
    const id = newId();
    const payload = issueClosed({ number: 18, stateReason: "completed" });
    expect((await receiveWebhook(deps, { id, name: "issues", payload })).outcome).toBe("queued");
    expect(queued).toEqual([
      { name: "close-task", payload: { deliveryId: id } },
      {
        name: "sync-issue",
        payload: {
          installationId: 77,
          repoFullName: "octo-org/widgets",
          number: 18,
          links: false,
          cause: `${id}-0`,
          deliveryId: id,
        },
      },
    ]);
    expect(await getDelivery(deps.db, id)).toMatchObject({
      dispatchedAt: expect.any(Date),
      processedAt: null,
    });
  });

  it("treats a redelivery of the same id as a duplicate and queues nothing more", async () => {
    const id = newId();
    const payload = issueLabeled({ number: 13, title: "Twice" });
    expect((await receiveWebhook(deps, { id, name: "issues", payload })).outcome).toBe("queued");
    expect((await receiveWebhook(deps, { id, name: "issues", payload })).outcome).toBe("duplicate");
    expect(queued.map((job) => job.name)).toEqual(["start-task"]);
    expect((await queue.counts()).wait).toBe(1);
  });

  it("queues a close-task job when a Drover pull request is merged", async () => {
    const id = newId();
    const payload = pullRequestClosed({ number: 31, headRef: "drover/12-add-a-changelog", merged: true });
    expect((await receiveWebhook(deps, { id, name: "pull_request", payload })).outcome).toBe("queued");
    expect(queued).toEqual([{ name: "close-task", payload: { deliveryId: id } }]);
  });

  it.each([
    ["issues", issueLabeled({ number: 14, title: "t", label: "drover:running" }), "ignored"],
    ["pull_request", pullRequestClosed({ number: 32, headRef: "feature/x", merged: true }), "ignored"],
    ["push", pushed({ ref: "refs/tags/v1.0", after: "a".repeat(40) }), "ignored"],
    ["issues", { ...issueLabeled({ number: 15, title: "t" }), installation: undefined }, "invalid"],
  ] as const)(
    "records nothing for a %s event Drover does not act on (%#)",
    async (name, payload, outcome) => {
      const id = newId();
      expect((await receiveWebhook(deps, { id, name, payload })).outcome).toBe(outcome);
      expect(await getDelivery(deps.db, id)).toBeUndefined();
      expect(queued).toEqual([]);
      expect((await queue.counts()).wait).toBe(0);
    },
  );

  it("answers within its limit when Redis hangs, with the delivery recorded", async () => {
    const id = newId();
    const hanging: IntakeDeps = { ...deps, enqueue: () => new Promise(() => {}), dispatchTimeoutMs: 200 };
    const started = Date.now();
    const payload = issueLabeled({ number: 17, title: "While Redis hung" });
    expect((await receiveWebhook(hanging, { id, name: "issues", payload })).outcome).toBe("recorded");
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await getDelivery(deps.db, id)).toMatchObject({ dispatchedAt: null, processedAt: null });
  });

  it("keeps the delivery when Redis is down, and the worker's start-up pass queues it", async () => {
    const id = newId();
    const down: IntakeDeps = {
      ...deps,
      enqueue: () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:6379")),
    };
    const payload = issueLabeled({ number: 16, title: "While Redis was down" });

    expect((await receiveWebhook(down, { id, name: "issues", payload })).outcome).toBe("recorded");
    expect(await getDelivery(deps.db, id)).toMatchObject({ dispatchedAt: null, processedAt: null });
    expect((await queue.counts()).wait).toBe(0);

    // requeuePending leaves deliveries younger than a few seconds to the intake that is still queueing them.
    await deps.db
      .update(deliveries)
      .set({ receivedAt: new Date(Date.now() - 60_000) })
      .where(eq(deliveries.id, id));
    await requeuePending({ ...deps, redispatch: () => redispatchUnfinished(deps) });

    expect(queued).toContainEqual({ name: "start-task", payload: { deliveryId: id } });
    expect(queued.map((job) => job.name)).not.toContain("sync-issue");
    expect(await getDelivery(deps.db, id)).toMatchObject({
      dispatchedAt: expect.any(Date),
      processedAt: null,
    });
    const waiting = (await queue.counts()).wait;
    expect(waiting).toBeGreaterThanOrEqual(1);

    // A second worker starting at once leaves the same delivery to its backoff: the first requeued it
    // just now.
    await requeuePending({ ...deps, redispatch: () => redispatchUnfinished(deps) });
    expect(queued.filter((job) => (job.payload as { deliveryId?: string }).deliveryId === id)).toHaveLength(
      1,
    );
    expect(queued.filter((job) => job.name === "start-task")).toHaveLength(1);
    expect((await queue.counts()).wait).toBe(waiting);
  });

  it("marks a delivery recorded before intake refused its payload processed, and never queues it", async () => {
    const id = newId();
    // As intake recorded it before issue numbers were bounded: every job it started failed.
    await recordDelivery(deps.db, {
      id,
      event: "issues",
      action: "labeled",
      installationId: 77,
      repoFullName: "octo-org/widgets",
      payload: issueLabeled({ number: 2 ** 31, title: "Too far" }),
    });
    await deps.db
      .update(deliveries)
      .set({ receivedAt: new Date(Date.now() - 60_000) })
      .where(eq(deliveries.id, id));

    await redispatchUnfinished(deps);

    expect(queued.filter((job) => JSON.stringify(job.payload).includes(id))).toEqual([]);
    expect(await getDelivery(deps.db, id)).toMatchObject({
      processedAt: expect.any(Date),
      outcome: "not dispatched: invalid",
    });
  });
});
