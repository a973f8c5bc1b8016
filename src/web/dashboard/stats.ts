import type { AttemptStatRow, RepoTaskRow } from "../../db/dashboard.ts";
import type { NotifyProblem } from "../../db/notify.ts";
import { TASK_STATES, type TaskState } from "../../graph/model.ts";

/**
 * The dashboard's figures, from rows already read: pure, so each is tested with plain data.
 */

export type RepoQueue = {
  repo: string;
  counts: Record<TaskState, number>;
  running: number[];
  /** The task waiting longest to run (waiting, ready, queued, retrying), and since when. */
  oldestWaiting: { number: number; since: Date } | null;
};

const WAITING_STATES: readonly TaskState[] = ["waiting", "ready", "queued", "retrying"];

/** Each repository's tasks by state, what runs now and what has waited longest. */
export function repoQueues(rows: readonly RepoTaskRow[]): RepoQueue[] {
  const byRepo = new Map<string, RepoQueue>();
  for (const row of rows) {
    let queue = byRepo.get(row.repo);
    if (!queue) {
      queue = {
        repo: row.repo,
        counts: Object.fromEntries(TASK_STATES.map((state) => [state, 0])) as Record<TaskState, number>,
        running: [],
        oldestWaiting: null,
      };
      byRepo.set(row.repo, queue);
    }
    queue.counts[row.state] += 1;
    if (row.state === "running") queue.running.push(row.number);
    if (
      WAITING_STATES.includes(row.state) &&
      (!queue.oldestWaiting || row.updatedAt < queue.oldestWaiting.since)
    )
      queue.oldestWaiting = { number: row.number, since: row.updatedAt };
  }
  return [...byRepo.values()];
}

export type Rate = { name: string; succeeded: number; total: number };

/** Finished tasks of each story (done against failed, blocked, cancelled); tasks in no story are "no story". */
export function successByStory(rows: readonly RepoTaskRow[]): Rate[] {
  const finished: readonly TaskState[] = ["done", "failed", "blocked", "cancelled"];
  const rates = new Map<string, Rate>();
  for (const row of rows) {
    if (!finished.includes(row.state)) continue;
    const name = row.story ?? "no story";
    const rate = rates.get(name) ?? { name, succeeded: 0, total: 0 };
    rate.total += 1;
    if (row.state === "done") rate.succeeded += 1;
    rates.set(name, rate);
  }
  return [...rates.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** Finished attempts of each agent that concluded `success`. */
export function successByAgent(rows: readonly AttemptStatRow[]): Rate[] {
  const rates = new Map<string, Rate>();
  for (const row of rows) {
    if (row.state !== "finished") continue;
    const name = row.agent ?? "unknown";
    const rate = rates.get(name) ?? { name, succeeded: 0, total: 0 };
    rate.total += 1;
    if (row.conclusion === "success") rate.succeeded += 1;
    rates.set(name, rate);
  }
  return [...rates.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export type Bucket = { label: string; count: number };

const DURATION_BUCKETS: { label: string; upToMs: number }[] = [
  { label: "< 1 min", upToMs: 60_000 },
  { label: "1–5 min", upToMs: 5 * 60_000 },
  { label: "5–15 min", upToMs: 15 * 60_000 },
  { label: "15–60 min", upToMs: 60 * 60_000 },
  { label: "1–4 h", upToMs: 4 * 3_600_000 },
  { label: "4–24 h", upToMs: 24 * 3_600_000 },
  { label: "> 1 day", upToMs: Number.POSITIVE_INFINITY },
];

/** Done tasks by how long they took from labelled to done. */
export function completionHistogram(rows: readonly RepoTaskRow[]): Bucket[] {
  const buckets = DURATION_BUCKETS.map(({ label }) => ({ label, count: 0 }));
  for (const row of rows) {
    if (row.state !== "done" || !row.doneAt) continue;
    const ms = row.doneAt.getTime() - row.createdAt.getTime();
    const at = DURATION_BUCKETS.findIndex((bucket) => ms < bucket.upToMs);
    buckets[at]!.count += 1;
  }
  return buckets;
}

export type Utilisation = { from: Date; stepMs: number; busy: number[] };

const MINUTE = 60_000;

/**
 * The span the utilisation chart covers: back to the oldest attempt started in the last `maxMs`, rounded
 * up to whole 10 minutes, so a young deployment's few minutes of work fill the chart rather than its edge.
 */
export function utilisationWindow(
  rows: readonly AttemptStatRow[],
  now: Date,
  maxMs = 6 * 60 * MINUTE,
): number {
  const oldest = Math.min(
    ...rows
      .map((row) => row.startedAt?.getTime() ?? Number.POSITIVE_INFINITY)
      .filter((t) => t >= now.getTime() - maxMs),
  );
  if (!Number.isFinite(oldest)) return maxMs;
  return Math.min(
    maxMs,
    Math.max(10 * MINUTE, Math.ceil((now.getTime() - oldest) / (10 * MINUTE)) * 10 * MINUTE),
  );
}

/**
 * Busy agent slots over the last `windowMs`, in `steps` slices: in each slice, the most attempts running
 * at once (an attempt still running counts to `now`).
 */
export function utilisation(
  rows: readonly AttemptStatRow[],
  now: Date,
  windowMs = 6 * 3_600_000,
  steps = 48,
): Utilisation {
  const stepMs = windowMs / steps;
  const from = new Date(now.getTime() - windowMs);
  const busy = new Array<number>(steps).fill(0);
  // Each slice's peak: sweep the starts and ends that fall in it, starting from those running at its start.
  const spans = rows
    .filter((row) => row.startedAt !== null)
    .map((row) => ({
      start: row.startedAt!.getTime(),
      end: row.finishedAt?.getTime() ?? (row.state === "running" ? now.getTime() : row.startedAt!.getTime()),
    }))
    .filter((span) => span.end >= from.getTime());
  for (let step = 0; step < steps; step++) {
    const start = from.getTime() + step * stepMs;
    const end = start + stepMs;
    const marks: [number, number][] = [];
    for (const span of spans) {
      if (span.end <= start || span.start >= end) continue;
      marks.push([Math.max(span.start, start), 1], [Math.max(span.end, span.start), -1]);
    }
    // One attempt ending as the next starts is a slot handed on, not two busy: ends first.
    marks.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let now = 0;
    for (const [, delta] of marks) {
      now += delta;
      busy[step] = Math.max(busy[step]!, now);
    }
  }
  return { from, stepMs, busy };
}

export type Cost = { name: string; usd: number; tokens: number; attempts: number };

/** Cost and tokens agents reported, per task ("owner/name#N") and per repository; none reported, none shown. */
export function costs(rows: readonly AttemptStatRow[]): { tasks: Cost[]; repos: Cost[] } {
  const tasks = new Map<string, Cost>();
  const repos = new Map<string, Cost>();
  for (const row of rows) {
    const usd = row.costUsd === null ? Number.NaN : Number(row.costUsd);
    const tokens = (row.inputTokens ?? 0) + (row.outputTokens ?? 0);
    if (!Number.isFinite(usd) && tokens === 0) continue;
    for (const [map, name] of [
      [tasks, `${row.repo}#${row.number}`],
      [repos, row.repo],
    ] as const) {
      const cost = map.get(name) ?? { name, usd: 0, tokens: 0, attempts: 0 };
      cost.usd += Number.isFinite(usd) ? usd : 0;
      cost.tokens += tokens;
      cost.attempts += 1;
      map.set(name, cost);
    }
  }
  const byUsd = (a: Cost, b: Cost) => b.usd - a.usd || b.tokens - a.tokens;
  return { tasks: [...tasks.values()].sort(byUsd), repos: [...repos.values()].sort(byUsd) };
}

/**
 * An error's signature: the reason with what differs between runs of the same failure replaced (quoted
 * values, paths, shas, numbers), so one cause is one line with a count.
 */
export function errorSignature(reason: string): string {
  return reason
    .split("\n")[0]!
    .replace(/(["'`])(?:(?!\1).){0,200}\1/g, "$1…$1")
    .replace(/(?:[A-Za-z]:)?(?:\.{0,2}\/)?(?:[\w.@-]+\/)+[\w.@-]+/g, "<path>")
    .replace(/\b[0-9a-f]{7,40}\b/gi, "<sha>")
    .replace(/\d+(?:\.\d+)?/g, "<n>")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 200);
}

export type FailureCluster = { signature: string; check: string | null; count: number; tasks: string[] };

/** Failed attempts grouped by their reason's signature and the check that failed, most frequent first. */
export function failureClusters(rows: readonly AttemptStatRow[]): FailureCluster[] {
  const clusters = new Map<string, FailureCluster>();
  for (const row of rows) {
    if (row.state !== "finished" || row.conclusion === "success" || row.conclusion === null) continue;
    const check = failingCheck(row.checks);
    const signature = errorSignature(row.reason ?? row.conclusion);
    const key = `${signature}\0${check ?? ""}`;
    const cluster = clusters.get(key) ?? { signature, check, count: 0, tasks: [] };
    cluster.count += 1;
    const task = `${row.repo}#${row.number}`;
    if (!cluster.tasks.includes(task)) cluster.tasks.push(task);
    clusters.set(key, cluster);
  }
  return [...clusters.values()].sort((a, b) => b.count - a.count || a.signature.localeCompare(b.signature));
}

/** The first check that did not pass, by its command, from an attempt's stored checks. */
function failingCheck(checks: unknown): string | null {
  if (!Array.isArray(checks)) return null;
  for (const check of checks as unknown[]) {
    if (typeof check !== "object" || check === null) continue;
    const { command, outcome } = check as { command?: unknown; outcome?: unknown };
    if (typeof command === "string" && outcome !== "passed") return command;
  }
  return null;
}

export type NotifyCluster = {
  target: string;
  state: "failed" | "retrying";
  /** What the receiver answered (its status), or why there was no answer, as a signature. */
  problem: string;
  count: number;
  /** The newest delivery of the kind: its event, and when it was last tried. */
  latest: { eventType: string; repo: string | null; issue: number | null; at: Date };
};

/** Outgoing webhooks that failed or are being retried, by target, state and problem, most frequent first. */
export function notifyClusters(problems: readonly NotifyProblem[]): NotifyCluster[] {
  const clusters = new Map<string, NotifyCluster>();
  for (const p of problems) {
    const error = p.lastError ? errorSignature(p.lastError) : null;
    const problem =
      p.lastStatus !== null ? `HTTP ${p.lastStatus}${error ? `: ${error}` : ""}` : (error ?? "no answer");
    const key = `${p.target}\0${p.state}\0${problem}`;
    const cluster = clusters.get(key) ?? {
      target: p.target,
      state: p.state,
      problem,
      count: 0,
      latest: { eventType: p.eventType, repo: p.repo, issue: p.issue, at: p.updatedAt },
    };
    cluster.count += 1;
    if (p.updatedAt > cluster.latest.at)
      cluster.latest = { eventType: p.eventType, repo: p.repo, issue: p.issue, at: p.updatedAt };
    clusters.set(key, cluster);
  }
  return [...clusters.values()].sort((a, b) => b.count - a.count || a.target.localeCompare(b.target));
}
