import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readEnv } from "../../../src/config/env.ts";
import { RequestBudget, shareBudgets } from "../../../src/github/budget.ts";
import { enqueuer } from "../../../src/queue/job-catalog.ts";
import { WorkQueue } from "../../../src/queue/queue.ts";
import { connectRedis } from "../../../src/queue/redis.ts";
import { metricsRoute } from "../../../src/web/metrics.ts";
import { useTestDatabase } from "../../helpers/db.ts";
import { issueLabeled } from "../../helpers/payloads.ts";
import { byLabel, family, histogram, parseMetrics, rawGet, valueOf } from "../../helpers/prometheus.ts";
import { TEST_REDIS_URL } from "../../helpers/services.ts";
import { deliver, useWeb } from "../../helpers/web.ts";

/** This machine's first address that is not loopback: a scrape from it comes from "another machine". */
const external = Object.values(os.networkInterfaces())
  .flat()
  .find((address) => address?.family === "IPv4" && !address.internal)?.address;

describe("/metrics in Drover's web", () => {
  const web = useWeb();
  const port = () => Number(new URL(web.url()).port);

  it("answers a scrape from this machine with the figures, and times webhook intake", async () => {
    const delivered = await deliver(web.url(), {
      event: "issues",
      body: JSON.stringify(issueLabeled({ number: 5, title: "Timed" })),
    });
    expect(delivered.status).toBe(200);

    const answer = await rawGet("127.0.0.1", port(), "/metrics");
    expect(answer.status).toBe(200);
    const metrics = parseMetrics(answer.body);
    expect(family(metrics, "drover_tasks").help).toBe("Tasks by repository and state.");
    const intake = histogram(metrics, "drover_webhook_intake_seconds", {
      event: "issues",
      outcome: "queued",
    });
    expect(intake.count).toBe(1);
    expect(intake.sum).toBeGreaterThan(0);
    expect(intake.buckets["+Inf"]).toBe(1);
  });

  it.skipIf(!external)(
    "refuses a scrape from another machine while DROVER_METRICS_TOKEN is unset",
    async () => {
      const answer = await rawGet(external!, port(), "/metrics");
      expect(answer.status).toBe(403);
      expect(JSON.parse(answer.body).error).toBe(
        "/metrics answers only requests from this machine: to scrape it from another, set DROVER_METRICS_TOKEN " +
          "and send Authorization: Bearer <that token>",
      );
      expect(answer.body).not.toContain("drover_tasks");
    },
  );
});

describe("/metrics", () => {
  const testDb = useTestDatabase();
  const redis = connectRedis(TEST_REDIS_URL);
  redis.on("error", () => {});
  const queue = new WorkQueue(redis, `drover-test-metrics-${randomBytes(4).toString("hex")}`, () => {});
  const servers: Server[] = [];

  afterAll(async () => {
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
    await queue.close();
    await redis.quit().catch(() => redis.disconnect());
  });

  /** The route alone, on every address, with `token` as DROVER_METRICS_TOKEN. */
  async function serve(token?: string): Promise<number> {
    const env = readEnv({
      DATABASE_URL: testDb.url(),
      REDIS_URL: TEST_REDIS_URL,
      ...(token === undefined ? {} : { DROVER_METRICS_TOKEN: token }),
    });
    const route = metricsRoute({ db: testDb.database().db, env, queue });
    const server = createServer((request, response) => {
      void route(request, response, new URL(request.url ?? "/", "http://drover.invalid"));
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "0.0.0.0", resolve));
    return (server.address() as AddressInfo).port;
  }

  async function scrape(port: number) {
    const answer = await rawGet("127.0.0.1", port, "/metrics");
    expect(answer.status).toBe(200);
    return parseMetrics(answer.body);
  }

  describe("with DROVER_METRICS_TOKEN set", () => {
    let port = 0;
    beforeAll(async () => {
      port = await serve("metrics-secret-1");
    });

    it("asks for the token, from this machine too", async () => {
      for (const headers of [{}, { authorization: "Bearer wrong" }, { authorization: "metrics-secret-1" }]) {
        const answer = await rawGet("127.0.0.1", port, "/metrics", headers);
        expect(answer.status).toBe(401);
        expect(JSON.parse(answer.body).error).toBe(
          "/metrics needs the header Authorization: Bearer <DROVER_METRICS_TOKEN>",
        );
      }
    });

    it.skipIf(!external)("answers the token, from another machine too", async () => {
      const answer = await rawGet(external!, port, "/metrics", { authorization: "Bearer metrics-secret-1" });
      expect(answer.status).toBe(200);
      expect(parseMetrics(answer.body).families.map((f) => f.name)).toContain("drover_queue_depth");
    });
  });

  it("still shows PostgreSQL's figures when Redis does not answer, and says which source is missing", async () => {
    const away = connectRedis("redis://127.0.0.1:1");
    away.on("error", () => {});
    const unreachable = new WorkQueue(away, "drover-test-metrics-away", () => {});
    const env = readEnv({ DATABASE_URL: testDb.url(), REDIS_URL: "redis://127.0.0.1:1" });
    const route = metricsRoute({ db: testDb.database().db, env, queue: unreachable });
    const server = createServer((request, response) => {
      void route(request, response, new URL(request.url ?? "/", "http://drover.invalid"));
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const metrics = await scrape((server.address() as AddressInfo).port);
      expect(byLabel(metrics, "drover_metrics_source_up", "source")).toEqual({ postgresql: 1, redis: 0 });
      expect(family(metrics, "drover_tasks").type).toBe("GAUGE");
      expect(family(metrics, "drover_queue_depth").metrics).toEqual([]);
      expect(family(metrics, "drover_agent_slots").metrics).toEqual([]);
    } finally {
      await unreachable.close(100);
      away.disconnect();
    }
  }, 20_000);

  it("shows the jobs waiting in each lane and how long the oldest has waited", async () => {
    const port = await serve();
    const enqueue = enqueuer(queue);
    const queuedAt = Date.now();
    await enqueue("reconcile", { at: 1 });
    await enqueue("reconcile", { at: 2 });
    await enqueue("run-task", { attemptId: 7 });
    await new Promise((resolve) => setTimeout(resolve, 1_100));

    const metrics = await scrape(port);
    expect(byLabel(metrics, "drover_queue_depth", "lane")).toEqual({ main: 2, agents: 1, warm: 0 });
    const oldest = byLabel(metrics, "drover_queue_oldest_waiting_seconds", "lane");
    expect(oldest.main).toBeGreaterThanOrEqual(1);
    expect(oldest.main).toBeLessThanOrEqual((Date.now() - queuedAt) / 1000);
    expect(oldest.warm).toBe(0);
    // No worker is connected: nothing is busy, and how many slots are idle is not known.
    expect(byLabel(metrics, "drover_agent_slots", "state")).toEqual({ busy: 0 });
  });

  it("counts the GitHub requests every process shared, and shows each installation's rate limit", async () => {
    const port = await serve();
    const budget = new RequestBudget();
    const sharing = shareBudgets(budget, () => redis, { processId: "worker-a", queuePrefix: queue.prefix });
    const resetAt = Math.floor(Date.now() / 1000) + 1800;
    const reply = (remaining: number) => ({
      get: (name: string) =>
        ({
          "x-ratelimit-limit": "5000",
          "x-ratelimit-remaining": String(remaining),
          "x-ratelimit-reset": String(resetAt),
        })[name] ?? null,
    });
    const seen = (method: string, path: string, remaining: number) =>
      budget.record(77, {
        method,
        url: `https://api.github.com${path}`,
        status: 200,
        headers: reply(remaining),
      });
    seen("GET", "/repos/octo-org/widgets/issues/1", 4990);
    seen("GET", "/repos/octo-org/widgets/issues/2", 4989);
    seen("POST", "/repos/octo-org/widgets/issues/1/comments", 4988);
    await sharing.flush();

    let metrics = await scrape(port);
    expect(byLabel(metrics, "drover_github_requests_total", "kind", { installation: "77" })).toEqual({
      read: 2,
      "content-write": 1,
    });
    expect(valueOf(metrics, "drover_github_rate_limit_remaining", { installation: "77" })).toBe(4988);
    expect(valueOf(metrics, "drover_github_rate_limit", { installation: "77" })).toBe(5000);

    // A later request adds to the totals; what was shared before is not counted again.
    seen("GET", "/repos/octo-org/widgets/issues/3", 4987);
    await sharing.flush();
    sharing.stop();
    metrics = await scrape(port);
    expect(valueOf(metrics, "drover_github_requests_total", { installation: "77", kind: "read" })).toBe(3);
    expect(
      valueOf(metrics, "drover_github_requests_total", { installation: "77", kind: "content-write" }),
    ).toBe(1);
    expect(valueOf(metrics, "drover_github_rate_limit_remaining", { installation: "77" })).toBe(4987);
  });
});
