import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readEnv } from "../../../src/config/env.ts";
import { metricsRoute } from "../../../src/web/metrics.ts";
import { useDrover } from "../../helpers/drover.ts";
import {
  AGENTS,
  agentConfig,
  mockConfig,
  mockFirstStatus,
  mockIssueState,
  mockLabelledRun,
  mockPermission,
  mockRunThatPasses,
  recorder,
  taskOf,
} from "../../helpers/github-flows.ts";
import { MAINTAINER, issueLabeled } from "../../helpers/payloads.ts";
import {
  byLabel,
  family,
  histogram,
  parseMetrics,
  rawGet,
  samples,
  valueOf,
  type Scrape,
} from "../../helpers/prometheus.ts";
import { TEST_REDIS_URL } from "../../helpers/services.ts";

/**
 * `/metrics` after tasks really ran (the harness: PostgreSQL, Redis, git, fake agent processes; GitHub is
 * nock): what a scraper reads back matches what happened.
 */
describe("/metrics after tasks ran", () => {
  const { db, harness, repo, github } = useDrover();
  let server: Server | undefined;

  afterEach(async () => {
    const running = server;
    server = undefined;
    if (running) await new Promise((resolve) => running.close(resolve));
  });

  /** The route served on loopback, reading the harness's database and queue. */
  async function scrape(): Promise<Scrape> {
    if (server) await new Promise((resolve) => server!.close(resolve));
    const env = readEnv({ DATABASE_URL: "postgres://127.0.0.1:5432/unused", REDIS_URL: TEST_REDIS_URL });
    const route = metricsRoute({ db: db(), env, queue: harness().queue });
    server = createServer((request, response) => {
      void route(request, response, new URL(request.url ?? "/", "http://drover.invalid"));
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const answer = await rawGet("127.0.0.1", port, "/metrics");
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseMetrics(answer.body);
  }

  it("counts tasks by state, attempts by outcome and agent with their durations, and the agents' cost", async () => {
    // One task whose agent (a command) gives up: failed, its only attempt used.
    mockLabelledRun(github, recorder(), {
      issue: { number: 31, title: "Fix the flaky test", labels: ["drover"] },
      commentId: 9031,
      config: agentConfig("fail.mjs"),
      installationId: repo().installationId,
    });
    await harness().receive(
      "issues",
      issueLabeled({ repo: repo(), number: 31, title: "Fix the flaky test" }),
    );
    await harness().drain();

    // One run by (a stand-in for) Claude Code, which reports its cost and tokens: in review.
    const claude = [
      "agent: claude",
      `agent_command: ${JSON.stringify([process.execPath, path.join(AGENTS, "fake-claude.mjs")])}`,
      "task_timeout: 60s",
      "max_attempts: 1",
    ].join("\n");
    const issue = { number: 32, title: "Add a greeting", labels: ["drover"] };
    const sent = recorder();
    const api = github.api();
    mockConfig(api, claude);
    mockPermission(api, MAINTAINER.login, "write");
    mockFirstStatus(api, sent, 32, 9032);
    mockRunThatPasses(api, sent, { issue, branch: "drover/32-add-a-greeting", pr: 132, identity: false });
    mockIssueState(github.optional(), sent, { issue: 32, commentId: 9032, labels: ["drover"] });
    await harness().receive("issues", issueLabeled({ repo: repo(), number: 32, title: "Add a greeting" }));
    await harness().drain();

    const failed = await taskOf(db(), repo(), 31);
    const passed = await taskOf(db(), repo(), 32);
    expect(failed.task?.state).toBe("failed");
    expect(passed.task?.state).toBe("review");
    const metrics = await scrape();

    expect(byLabel(metrics, "drover_metrics_source_up", "source")).toEqual({ postgresql: 1, redis: 1 });
    // Tasks by repository and state.
    expect(byLabel(metrics, "drover_tasks", "state", { repo: repo().fullName })).toEqual({
      failed: 1,
      review: 1,
    });

    // Attempts by outcome and agent: a counter, and a histogram of how long each took.
    expect(family(metrics, "drover_attempts_total").type).toBe("COUNTER");
    expect(valueOf(metrics, "drover_attempts_total", { outcome: "failure", agent: "command" })).toBe(1);
    expect(valueOf(metrics, "drover_attempts_total", { outcome: "success", agent: "claude" })).toBe(1);
    expect(samples(metrics, "drover_attempts_total")).toHaveLength(2);
    const durations = family(metrics, "drover_attempt_duration_seconds");
    expect(durations.type).toBe("HISTOGRAM");
    for (const [outcome, agent, attempt] of [
      ["failure", "command", failed.attempts[0]],
      ["success", "claude", passed.attempts[0]],
    ] as const) {
      const series = histogram(metrics, "drover_attempt_duration_seconds", { outcome, agent });
      const seconds = (attempt!.finishedAt!.getTime() - attempt!.startedAt!.getTime()) / 1000;
      expect(series.count).toBe(1);
      expect(series.sum).toBeCloseTo(seconds, 2);
      // A fake agent's attempt takes seconds: in every bucket from 10 s on.
      expect(seconds).toBeLessThan(10);
      expect(series.buckets).toMatchObject({ "10": 1, "3600": 1, "+Inf": 1 });
    }

    // What the agent reported it cost and used (the fake Claude: $0.0421, 10 + 200 + 3000 in, 20 out);
    // the command agent reports nothing.
    expect(samples(metrics, "drover_agent_cost_usd_total")).toEqual([
      { labels: { agent: "claude", repo: repo().fullName }, value: "0.0421" },
    ]);
    expect(byLabel(metrics, "drover_agent_tokens_total", "direction", { agent: "claude" })).toEqual({
      input: 3210,
      output: 20,
    });

    // Everything ran: nothing waits in any lane, and the worker's two agent slots are idle.
    expect(byLabel(metrics, "drover_queue_depth", "lane")).toEqual({ main: 0, agents: 0, warm: 0 });
    expect(byLabel(metrics, "drover_queue_oldest_waiting_seconds", "lane")).toEqual({
      main: 0,
      agents: 0,
      warm: 0,
    });
    expect(byLabel(metrics, "drover_agent_slots", "state")).toEqual({ busy: 0, idle: 2 });
  });

  it("shows an agent slot busy while an agent runs, and idle again after", async () => {
    const go = path.join(await mkdtemp(path.join(tmpdir(), "drover-metrics-")), "go");
    mockLabelledRun(github, recorder(), {
      issue: { number: 33, title: "Take your time", labels: ["drover"] },
      commentId: 9033,
      config: agentConfig("wait-for-file.mjs", { args: [go] }),
      installationId: repo().installationId,
      passes: { branch: "drover/33-take-your-time", pr: 133 },
    });
    await harness().receive("issues", issueLabeled({ repo: repo(), number: 33, title: "Take your time" }));

    // The agent waits for the go-ahead: one of the worker's two slots is busy meanwhile. The slot is busy
    // from the moment the worker takes the job, the task running once its attempt is leased a moment
    // later (a busy machine shows the gap): both are waited for.
    const agentRunning = (text: Scrape) =>
      valueOf(text, "drover_agent_slots", { state: "busy" }) === 1 &&
      valueOf(text, "drover_tasks", { repo: repo().fullName, state: "running" }) === 1;
    let metrics = await scrape();
    for (const started = Date.now(); !agentRunning(metrics);) {
      if (Date.now() - started > 15_000) throw new Error(`no agent came to run:\n${metrics.text}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      metrics = await scrape();
    }
    expect(byLabel(metrics, "drover_agent_slots", "state")).toEqual({ busy: 1, idle: 1 });
    expect(byLabel(metrics, "drover_tasks", "state", { repo: repo().fullName })).toMatchObject({
      running: 1,
    });

    await writeFile(go, "");
    await harness().drain();
    expect(byLabel(await scrape(), "drover_agent_slots", "state")).toEqual({ busy: 0, idle: 2 });
  });
});
