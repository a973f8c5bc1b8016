import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { agentUsage, attemptFigures, taskCounts, type AttemptFigures } from "../db/metrics.ts";
import { readBudgets, readRequestTotals } from "../github/budget.ts";
import { answer } from "../lib/http.ts";
import type { Route, WebContext } from "./viewer.ts";

export const METRICS_PATH = "/metrics";

/** Bounds (seconds) of the attempt-duration buckets: an agent run takes seconds to an hour. */
export const ATTEMPT_BUCKETS = [10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200];

/** Bounds (seconds) of the webhook-intake buckets: intake records and enqueues, in milliseconds. */
export const INTAKE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * What this web process itself sees, counted in memory: the time intake took per delivery. Everything
 * else belongs to the deployment (every worker's attempts, the queue, GitHub's limits) and is read from
 * PostgreSQL and Redis when scraped, so any web process answers the same.
 */
const intakeSeconds = new Histogram({
  name: "drover_webhook_intake_seconds",
  help: "Time from a webhook's verified body to intake's answer (recorded and queued), by event and outcome.",
  labelNames: ["event", "outcome"] as const,
  buckets: INTAKE_BUCKETS,
  registers: [],
});

/** Observes one delivery's intake (src/app.ts, around `receiveWebhook`). */
export function observeIntake(event: string, outcome: string, seconds: number): void {
  intakeSeconds.observe({ event, outcome }, seconds);
}

/**
 * `GET /metrics` in Prometheus's text format. With DROVER_METRICS_TOKEN set, only
 * `Authorization: Bearer <token>` is answered; without it, only requests from this machine (loopback),
 * since the figures name repositories and installations.
 */
export function metricsRoute(context: Pick<WebContext, "db" | "env" | "queue">): Route {
  const scrape = scraper(context);
  return async (request, response, url) => {
    if (url.pathname !== METRICS_PATH) return false;
    const refusal = refusalOf(request, context.env.DROVER_METRICS_TOKEN);
    if (refusal) {
      answer(response, refusal.status, { error: refusal.error });
      return true;
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      answer(response, 405, { error: "/metrics answers GET" });
      return true;
    }
    const { text, contentType } = await scrape();
    response
      .writeHead(200, { "content-type": contentType, "content-length": Buffer.byteLength(text) })
      .end(request.method === "HEAD" ? undefined : text);
    return true;
  };
}

/** Why a scrape is refused (the status and what to do), or null when it may have the figures. */
export function refusalOf(
  request: Pick<IncomingMessage, "headers" | "socket">,
  token: string | undefined,
): { status: number; error: string } | null {
  if (token !== undefined) {
    const given = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? "")?.[1];
    if (given !== undefined && sameSecret(given, token)) return null;
    return { status: 401, error: "/metrics needs the header Authorization: Bearer <DROVER_METRICS_TOKEN>" };
  }
  if (isLoopback(request.socket.remoteAddress)) return null;
  return {
    status: 403,
    error:
      "/metrics answers only requests from this machine: to scrape it from another, set DROVER_METRICS_TOKEN " +
      "and send Authorization: Bearer <that token>",
  };
}

/** Compared as digests, in constant time: the token's length and content leak nothing through timing. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string) => createHash("sha256").update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * The connection's own address, never a forwarded header anyone can write. Behind a proxy every request
 * comes from the proxy's address, which is not loopback on a platform's network: there the token is needed.
 */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith("::ffff:") ? address.slice("::ffff:".length) : address;
  return v4.startsWith("127.") || address === "::1";
}

/**
 * The figures, read and written in one step per scrape. Scrapes arriving while one is read share its
 * answer: two at once would otherwise interleave resetting and filling the same metrics.
 */
function scraper(context: Pick<WebContext, "db" | "queue">) {
  const metrics = deploymentMetrics();
  let inFlight: Promise<{ text: string; contentType: string }> | null = null;
  const once = async () => {
    metrics.fill(await readFigures(context));
    return { text: await metrics.registry.metrics(), contentType: metrics.registry.contentType };
  };
  return () => {
    inFlight ??= once().finally(() => (inFlight = null));
    return inFlight;
  };
}

type Figures = Awaited<ReturnType<typeof readFigures>>;

/**
 * Everything a scrape shows, from PostgreSQL and from Redis at once. A source that fails or does not answer
 * within `SOURCE_TIMEOUT_MS` (a Redis away makes its client wait, not fail) leaves its figures out and says
 * so in `drover_metrics_source_up`, so the other's figures still reach the scraper.
 */
async function readFigures(context: Pick<WebContext, "db" | "queue">) {
  const redis = context.queue.connection;
  const prefix = context.queue.prefix;
  const [postgresql, queue] = await Promise.all([
    settled(() =>
      Promise.all([
        taskCounts(context.db),
        attemptFigures(context.db, ATTEMPT_BUCKETS),
        agentUsage(context.db),
      ]),
    ),
    settled(() =>
      Promise.all([
        context.queue.lanes(),
        context.queue.agentCapacity(),
        readBudgets(redis, prefix),
        readRequestTotals(redis, prefix),
      ]),
    ),
  ]);
  const [tasks = [], attempts = [], usage = []] = postgresql ?? [];
  const [lanes = [], capacity, budgets = [], requests = []] = queue ?? [];
  return {
    up: { postgresql: postgresql !== null, redis: queue !== null },
    tasks,
    attempts,
    usage,
    lanes,
    capacity,
    budgets,
    requests,
    now: Date.now(),
  };
}

const SOURCE_TIMEOUT_MS = 5_000;

/** What `read` gives, or null when it fails or takes longer than SOURCE_TIMEOUT_MS. */
async function settled<T>(read: () => Promise<T>): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), SOURCE_TIMEOUT_MS)));
  try {
    return await Promise.race([read().catch(() => null), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Finished attempts' durations as a Prometheus histogram whose buckets PostgreSQL counted (src/db/metrics.ts
 * `attemptFigures`): prom-client's Histogram only counts what it observes itself, in one process.
 */
class ComputedHistogram extends Histogram<"outcome" | "agent"> {
  figures: AttemptFigures[] = [];

  override async get() {
    return (await this.getForPromString()) as unknown as Awaited<ReturnType<Histogram["get"]>>;
  }

  /** What prom-client's registry writes a histogram's text from (not in its typings; see lib/histogram.js). */
  async getForPromString() {
    const name = ATTEMPT_DURATION;
    const values = this.figures.flatMap((row) => {
      const labels = { outcome: row.outcome, agent: row.agent };
      return [
        ...ATTEMPT_BUCKETS.map((le, i) => ({
          metricName: `${name}_bucket`,
          labels: { ...labels, le },
          value: row.within[i] ?? 0,
        })),
        { metricName: `${name}_bucket`, labels: { ...labels, le: "+Inf" }, value: row.attempts },
        { metricName: `${name}_sum`, labels, value: row.seconds },
        { metricName: `${name}_count`, labels, value: row.attempts },
      ];
    });
    return { name, help: ATTEMPT_DURATION_HELP, type: "histogram", values, aggregator: "sum" };
  }
}

const ATTEMPT_DURATION = "drover_attempt_duration_seconds";
const ATTEMPT_DURATION_HELP = "Finished attempts' time from start to end, by outcome and agent.";

function deploymentMetrics() {
  const registry = new Registry();
  registry.registerMetric(intakeSeconds);
  const registers = [registry];
  const tasks = new Gauge({
    name: "drover_tasks",
    help: "Tasks by repository and state.",
    labelNames: ["repo", "state"] as const,
    registers,
  });
  const attempts = new Counter({
    name: "drover_attempts_total",
    help: "Finished attempts by outcome (the check run's conclusion) and agent.",
    labelNames: ["outcome", "agent"] as const,
    registers,
  });
  const durations = new ComputedHistogram({
    name: ATTEMPT_DURATION,
    help: ATTEMPT_DURATION_HELP,
    labelNames: ["outcome", "agent"] as const,
    buckets: ATTEMPT_BUCKETS,
    registers,
  });
  const cost = new Counter({
    name: "drover_agent_cost_usd_total",
    help: "What the agents reported their runs cost, in US dollars, by agent and repository.",
    labelNames: ["agent", "repo"] as const,
    registers,
  });
  const tokens = new Counter({
    name: "drover_agent_tokens_total",
    help: "Tokens the agents reported, by agent, repository and direction (input, output).",
    labelNames: ["agent", "repo", "direction"] as const,
    registers,
  });
  const depth = new Gauge({
    name: "drover_queue_depth",
    help: "Jobs waiting to be taken, per lane (main, agents, warm).",
    labelNames: ["lane"] as const,
    registers,
  });
  const delayed = new Gauge({
    name: "drover_queue_delayed",
    help: "Jobs waiting out a delay (retries, backoff), per lane.",
    labelNames: ["lane"] as const,
    registers,
  });
  const oldest = new Gauge({
    name: "drover_queue_oldest_waiting_seconds",
    help: "Age of the oldest job waiting to be taken, per lane (0 when none waits).",
    labelNames: ["lane"] as const,
    registers,
  });
  const slots = new Gauge({
    name: "drover_agent_slots",
    help: "Agent slots of the connected workers: busy (an agent job running) and idle.",
    labelNames: ["state"] as const,
    registers,
  });
  const up = new Gauge({
    name: "drover_metrics_source_up",
    help: "Whether this scrape read its figures from the source (postgresql, redis): 0 leaves them out.",
    labelNames: ["source"] as const,
    registers,
  });
  const requests = new Counter({
    name: "drover_github_requests_total",
    help: "Requests Drover sent to GitHub's API, by installation and kind (read, write, content-write).",
    labelNames: ["installation", "kind"] as const,
    registers,
  });
  const remaining = new Gauge({
    name: "drover_github_rate_limit_remaining",
    help: "Requests left in GitHub's primary rate limit per installation, as its latest answer said.",
    labelNames: ["installation"] as const,
    registers,
  });
  const limit = new Gauge({
    name: "drover_github_rate_limit",
    help: "GitHub's primary rate limit per installation (requests an hour).",
    labelNames: ["installation"] as const,
    registers,
  });

  const fill = (figures: Figures) => {
    for (const metric of [
      tasks,
      attempts,
      cost,
      tokens,
      depth,
      delayed,
      oldest,
      slots,
      requests,
      remaining,
      limit,
    ])
      metric.reset();
    up.set({ source: "postgresql" }, figures.up.postgresql ? 1 : 0);
    up.set({ source: "redis" }, figures.up.redis ? 1 : 0);
    for (const row of figures.tasks) tasks.set({ repo: row.repo, state: row.state }, row.tasks);
    for (const row of figures.attempts)
      attempts.inc({ outcome: row.outcome, agent: row.agent }, row.attempts);
    durations.figures = figures.attempts;
    for (const row of figures.usage) {
      const labels = { agent: row.agent, repo: row.repo };
      cost.inc(labels, row.costUsd);
      tokens.inc({ ...labels, direction: "input" }, row.inputTokens);
      tokens.inc({ ...labels, direction: "output" }, row.outputTokens);
    }
    for (const lane of figures.lanes) {
      depth.set({ lane: lane.lane }, lane.waiting);
      delayed.set({ lane: lane.lane }, lane.delayed);
      const age = lane.oldestWaitingAt === null ? 0 : Math.max(0, figures.now - lane.oldestWaitingAt) / 1000;
      oldest.set({ lane: lane.lane }, age);
    }
    if (figures.up.redis) {
      const busy = figures.lanes.find((lane) => lane.lane === "agents")?.active ?? 0;
      slots.set({ state: "busy" }, busy);
      // No worker reports its capacity (none connected, or Redis hides client names): idle is unknown.
      if (figures.capacity !== undefined) slots.set({ state: "idle" }, Math.max(0, figures.capacity - busy));
    }
    for (const row of figures.requests)
      requests.inc({ installation: String(row.installationId), kind: row.kind }, row.requests);
    for (const row of figures.budgets) {
      if (!row.rate || row.rate.resetAt.getTime() <= figures.now) continue;
      remaining.set({ installation: String(row.installationId) }, row.rate.remaining);
      limit.set({ installation: String(row.installationId) }, row.rate.limit);
    }
  };
  return { registry, fill };
}
