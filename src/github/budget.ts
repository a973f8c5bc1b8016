import { Redis } from "ioredis";
import { z } from "zod";
import type { BudgetRow } from "../report/budget.ts";

/**
 * GitHub's limits per installation: a primary limit per hour (5,000 to 15,000 requests, told in every
 * response's x-ratelimit-* headers, 304s not charged) and, on top, secondary limits on content-generating
 * requests: 80 a minute and 500 an hour (docs.github.com, "Rate limits for the REST API"). GitHub does not
 * say how close one is to the secondary limits, so Drover counts its own requests here, per installation,
 * over a rolling hour, and defers cosmetic writes (status-comment edits) when either budget runs low.
 */
export const CONTENT_WRITES_PER_HOUR = 500;
export const CONTENT_WRITES_PER_MINUTE = 80;

/** A line is logged when the remaining primary limit falls under this share, and again when it recovers. */
export const LOW_REMAINING = 0.2;
/** Cosmetic writes wait while the remaining primary limit is under this share of the limit... */
export const DEFER_REMAINING = 0.1;
/** ...or content writes in the last hour reach this share of 500... */
export const DEFER_CONTENT_HOUR = 0.9;
/** ...or content writes in the last minute reach this share of 80. */
export const DEFER_CONTENT_MINUTE = 0.8;

/** Counts are kept in 10-second slots: the "last minute" is the last 50 to 60 seconds. */
const SLOT_MS = 10_000;
const HOUR_SLOTS = 360;
const MINUTE_SLOTS = 6;
/** How often the counts are logged per installation while it makes requests. */
const SUMMARY_EVERY_MS = 10 * 60_000;

export type RequestKind = "read" | "write" | "content-write";

/**
 * GitHub publishes no list of content-generating endpoints; its limit is on content created on GitHub,
 * through the web, REST or GraphQL alike. Drover reads it as the sandbox's accounting does (the benchmark
 * holds Drover to the same reading): every POST, PUT and PATCH makes or changes something people see
 * (issues, comments, labels, reactions, links, pull requests, reviews, merges, check runs), and so does a
 * GraphQL mutation; a DELETE takes content away, a repository's settings (`PATCH /repos/{owner}/{repo}`)
 * are not content, and a GraphQL query is a read.
 */
export function requestKind(method: string, path: string, body?: unknown): RequestKind {
  const verb = method.toUpperCase();
  if (verb === "GET" || verb === "HEAD" || verb === "OPTIONS") return "read";
  if (verb === "POST" && path.endsWith("/graphql")) {
    return typeof body === "string" && /"query"\s*:\s*"\s*mutation\b/.test(body) ? "content-write" : "read";
  }
  if (verb === "DELETE" || (verb === "PATCH" && /^\/repos\/[^/]+\/[^/]+$/.test(path))) return "write";
  return "content-write";
}

/** One response, as the budget sees it. */
export type Seen = {
  method: string;
  /** The request's URL (or path). */
  url: string;
  status: number;
  headers: { get(name: string): string | null };
  body?: unknown;
};

/** pino's signature; Octokit's `log` is Probot's pino child logger. */
export type BudgetLog = {
  info: (fields: object, message: string) => void;
  warn: (fields: object, message: string) => void;
};

type Counts = { requests: number; notModified: number; writes: number; contentWrites: number };
type Slot = Counts & { n: number };
type Rate = { limit: number; remaining: number; resetAt: number };
/** What other processes counted for one installation, as last read from Redis. */
type Shared = Counts & { contentWritesLastMinute: number; rate: Rate | null; processes: number };

class InstallationBudget {
  readonly slots: (Slot | undefined)[] = new Array<Slot | undefined>(HOUR_SLOTS);
  rate: Rate | null = null;
  low = false;
  summarisedAt = 0;
  shared: Shared | null = null;

  add(now: number, kind: RequestKind, notModified: boolean): void {
    const n = Math.floor(now / SLOT_MS);
    const index = n % HOUR_SLOTS;
    let slot = this.slots[index];
    if (!slot || slot.n !== n) {
      slot = { n, requests: 0, notModified: 0, writes: 0, contentWrites: 0 };
      this.slots[index] = slot;
    }
    slot.requests++;
    if (notModified) slot.notModified++;
    if (kind !== "read") slot.writes++;
    if (kind === "content-write") slot.contentWrites++;
  }

  /** This process's counts over the last `slots` slots. */
  sum(now: number, slots: number): Counts {
    const newest = Math.floor(now / SLOT_MS);
    const total: Counts = { requests: 0, notModified: 0, writes: 0, contentWrites: 0 };
    for (const slot of this.slots) {
      if (!slot || slot.n > newest || slot.n <= newest - slots) continue;
      total.requests += slot.requests;
      total.notModified += slot.notModified;
      total.writes += slot.writes;
      total.contentWrites += slot.contentWrites;
    }
    return total;
  }
}

/**
 * Requests per installation over the last hour, and GitHub's latest word on the primary limit. One per
 * process (`requestBudget`); with Redis, `shareBudgets` adds what the other processes counted.
 */
export class RequestBudget {
  readonly #installations = new Map<number, InstallationBudget>();
  /** Requests counted since they were last added to the deployment's totals in Redis (`shareBudgets`). */
  #untallied = new Map<string, number>();

  /** Counts one response GitHub sent (a 304 included) and keeps its x-ratelimit-* headers. */
  record(installationId: number, seen: Seen, log?: BudgetLog, now = Date.now()): void {
    const path = pathOf(seen.url);
    // The client's token, asked with the app's JWT: the app's limit, not the installation's.
    if (/^\/app\/installations\/[^/]+\/access_tokens$/.test(path)) return;
    const budget = this.#of(installationId);
    const kind = requestKind(seen.method, path, seen.body);
    budget.add(now, kind, seen.status === 304);
    const tally = `${installationId}:${kind}`;
    this.#untallied.set(tally, (this.#untallied.get(tally) ?? 0) + 1);
    const rate = rateOf(seen.headers);
    if (rate) budget.rate = rate;
    if (!log) return;
    const row = () => fields(this.#row(installationId, budget, now));
    this.#logLow(budget, row, log);
    if (now - budget.summarisedAt >= SUMMARY_EVERY_MS) {
      budget.summarisedAt = now;
      log.info(row(), "GitHub request budget");
    }
  }

  /** The installation's use of its limits over the last hour (every process's, when shared). */
  budgetOf(installationId: number, now = Date.now()): BudgetRow {
    return this.#row(installationId, this.#installations.get(installationId), now);
  }

  /**
   * Whether a cosmetic write (a status-comment edit: nothing breaks if it comes later) should wait:
   * the primary limit is under 10% of its size, or content writes reach 90% of 500 in the last hour or
   * 80% of 80 in the last minute. Essential writes (PRs, check runs, labels that start work) never ask.
   */
  deferCosmetic(installationId: number, now = Date.now()): boolean {
    const row = this.budgetOf(installationId, now);
    const rate = row.rate && row.rate.resetAt.getTime() > now ? row.rate : null;
    return (
      (rate !== null && rate.remaining < rate.limit * DEFER_REMAINING) ||
      row.contentWrites >= CONTENT_WRITES_PER_HOUR * DEFER_CONTENT_HOUR ||
      row.contentWritesLastMinute >= CONTENT_WRITES_PER_MINUTE * DEFER_CONTENT_MINUTE
    );
  }

  /** Installations that made a request in the last hour, with their budgets. */
  budgets(now = Date.now()): BudgetRow[] {
    return [...this.#installations.keys()]
      .map((id) => this.budgetOf(id, now))
      .filter((row) => row.requests > 0);
  }

  /** This process's own counts for one installation, as shared with the others. */
  own(installationId: number, now = Date.now()): SharedBudget | null {
    const budget = this.#installations.get(installationId);
    if (!budget) return null;
    const hour = budget.sum(now, HOUR_SLOTS);
    if (hour.requests === 0) return null;
    return {
      at: now,
      ...hour,
      contentWritesLastMinute: budget.sum(now, MINUTE_SLOTS).contentWrites,
      rate: budget.rate,
    };
  }

  /** What the other processes counted for `installationId` (replacing what they said before). */
  absorb(installationId: number, others: readonly SharedBudget[]): void {
    const budget = this.#of(installationId);
    budget.shared = others.length === 0 ? null : combine(others);
  }

  /**
   * The requests counted since the last call, by "installation:kind", handed over for the deployment's
   * totals (and forgotten here: `untally` gives them back when they could not be added).
   */
  takeTally(): Map<string, number> {
    const taken = this.#untallied;
    this.#untallied = new Map();
    return taken;
  }

  untally(taken: ReadonlyMap<string, number>): void {
    for (const [key, n] of taken) this.#untallied.set(key, (this.#untallied.get(key) ?? 0) + n);
  }

  /** Forgets everything (tests). */
  clear(): void {
    this.#installations.clear();
  }

  #of(installationId: number): InstallationBudget {
    let budget = this.#installations.get(installationId);
    if (!budget) {
      budget = new InstallationBudget();
      this.#installations.set(installationId, budget);
    }
    return budget;
  }

  #row(installationId: number, budget: InstallationBudget | undefined, now: number): BudgetRow {
    const hour = budget?.sum(now, HOUR_SLOTS) ?? { requests: 0, notModified: 0, writes: 0, contentWrites: 0 };
    const minute = budget?.sum(now, MINUTE_SLOTS).contentWrites ?? 0;
    const shared = budget?.shared;
    const rate = newest(budget?.rate ?? null, shared?.rate ?? null);
    return {
      installationId,
      requests: hour.requests + (shared?.requests ?? 0),
      notModified: hour.notModified + (shared?.notModified ?? 0),
      writes: hour.writes + (shared?.writes ?? 0),
      contentWrites: hour.contentWrites + (shared?.contentWrites ?? 0),
      contentWritesLastMinute: minute + (shared?.contentWritesLastMinute ?? 0),
      rate: rate && { limit: rate.limit, remaining: rate.remaining, resetAt: new Date(rate.resetAt) },
      processes: 1 + (shared?.processes ?? 0),
    };
  }

  #logLow(budget: InstallationBudget, row: () => object, log: BudgetLog): void {
    const rate = budget.rate;
    if (!rate || rate.limit === 0) return;
    const low = rate.remaining < rate.limit * LOW_REMAINING;
    if (low === budget.low) return;
    budget.low = low;
    if (low) log.warn(row(), "GitHub request budget low: cosmetic writes will wait under 10%");
    else log.info(row(), "GitHub request budget recovered");
  }
}

/** This process's budget: what `budgetOf` and `deferCosmetic` read, and every Drover Octokit counts into. */
export const requestBudget = new RequestBudget();

/** The installation's use of GitHub's limits over the last hour (see `RequestBudget.budgetOf`). */
export function budgetOf(installationId: number): BudgetRow {
  return requestBudget.budgetOf(installationId);
}

const clients = new WeakMap<object, number>();

/** Remembers which installation a client acts for, so `deferCosmetic(octokit)` can be asked. */
export function bindInstallation(octokit: object, installationId: number): void {
  clients.set(octokit, installationId);
}

/** The installation a Drover client acts for; undefined for the app's own client or a foreign one. */
export function installationOf(octokit: object): number | undefined {
  return clients.get(octokit);
}

/**
 * Whether a cosmetic write for this installation (given by id or by its Drover Octokit) should be skipped
 * for now (see `RequestBudget.deferCosmetic`). A client that is not an installation's never defers.
 */
export function deferCosmetic(target: number | object): boolean {
  const installationId = typeof target === "number" ? target : installationOf(target);
  return installationId !== undefined && requestBudget.deferCosmetic(installationId);
}

function rateOf(headers: Seen["headers"]): Rate | null {
  // Search, GraphQL and others have limits of their own; the budget is the core REST one.
  const resource = headers.get("x-ratelimit-resource");
  if (resource !== null && resource !== "core") return null;
  const limit = Number(headers.get("x-ratelimit-limit"));
  const remaining = Number(headers.get("x-ratelimit-remaining"));
  const reset = Number(headers.get("x-ratelimit-reset"));
  if (!headers.get("x-ratelimit-limit") || !Number.isFinite(limit + remaining + reset)) return null;
  return { limit, remaining, resetAt: reset * 1000 };
}

function pathOf(url: string): string {
  const path = url.startsWith("/") ? url.split("?")[0]! : new URL(url).pathname;
  // GitHub Enterprise Server serves the API under /api/v3.
  return path.replace(/^\/api\/v3(?=\/)/, "");
}

function newest(a: Rate | null, b: Rate | null): Rate | null {
  if (!a || !b) return a ?? b;
  // A later reset is a later window; within one window the lower remaining is the later answer.
  if (a.resetAt !== b.resetAt) return a.resetAt > b.resetAt ? a : b;
  return a.remaining <= b.remaining ? a : b;
}

function fields(row: BudgetRow): object {
  return {
    installationId: row.installationId,
    requests: row.requests,
    notModified: row.notModified,
    writes: row.writes,
    contentWrites: row.contentWrites,
    contentWritesLastMinute: row.contentWritesLastMinute,
    limit: row.rate?.limit,
    remaining: row.rate?.remaining,
    resetAt: row.rate?.resetAt.toISOString(),
  };
}

/** One process's counts for one installation, as kept in Redis. */
const SharedBudget = z.object({
  at: z.number(),
  requests: z.number().int().nonnegative(),
  notModified: z.number().int().nonnegative(),
  writes: z.number().int().nonnegative(),
  contentWrites: z.number().int().nonnegative(),
  contentWritesLastMinute: z.number().int().nonnegative(),
  rate: z.object({ limit: z.number(), remaining: z.number(), resetAt: z.number() }).nullable(),
});
export type SharedBudget = z.infer<typeof SharedBudget>;

function combine(entries: readonly SharedBudget[]): Shared {
  const total: Shared = {
    requests: 0,
    notModified: 0,
    writes: 0,
    contentWrites: 0,
    contentWritesLastMinute: 0,
    rate: null,
    processes: entries.length,
  };
  for (const entry of entries) {
    total.requests += entry.requests;
    total.notModified += entry.notModified;
    total.writes += entry.writes;
    total.contentWrites += entry.contentWrites;
    total.contentWritesLastMinute += entry.contentWritesLastMinute;
    total.rate = newest(total.rate, entry.rate);
  }
  return total;
}

/**
 * Redis key of an installation's budgets: a hash of process id → that process's `SharedBudget`, under the
 * deployment's DROVER_QUEUE_PREFIX (deployments sharing a Redis keep apart, as their queues do).
 */
export function budgetKeyPrefix(queuePrefix: string): string {
  return `${queuePrefix}:budget:`;
}
/** How often a process shares its counts (and reads the others'). */
export const SHARE_EVERY_MS = 15_000;
/** A process silent this long is gone (stopped, or idle for this installation): its counts drop out. */
const SHARED_FRESH_MS = 4 * SHARE_EVERY_MS;

/** The entries of one installation's hash still fresh at `now`, other than `except`'s. */
function freshEntries(hash: Record<string, string>, now: number, except?: string): SharedBudget[] {
  const entries: SharedBudget[] = [];
  for (const [process, json] of Object.entries(hash)) {
    if (process === except) continue;
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch {
      continue;
    }
    const parsed = SharedBudget.safeParse(value);
    if (parsed.success && now - parsed.data.at <= SHARED_FRESH_MS) entries.push(parsed.data);
  }
  return entries;
}

/**
 * Shares this process's counts through Redis every 15 s, and takes in the other processes' (GitHub's
 * limits are per installation, whichever worker sends the request): so `deferCosmetic` sees every
 * worker's content writes, and `drover status`, another process, can show them (`readBudgets`).
 */
export function shareBudgets(
  budget: RequestBudget,
  redis: () => Redis,
  options: { processId: string; queuePrefix: string; everyMs?: number },
): { flush: () => Promise<void>; stop: () => void } {
  const flush = async (now = Date.now()) => {
    const rows = budget.budgets(now);
    if (rows.length === 0) return;
    const client = redis();
    await addToTotals(client, budget, options.queuePrefix);
    for (const { installationId } of rows) {
      const key = `${budgetKeyPrefix(options.queuePrefix)}${installationId}`;
      const own = budget.own(installationId, now);
      const pipeline = client.multi();
      if (own) pipeline.hset(key, options.processId, JSON.stringify(own)).expire(key, 3600);
      pipeline.hgetall(key);
      const results = await pipeline.exec();
      const hash = (results?.at(-1)?.[1] ?? {}) as Record<string, string>;
      budget.absorb(installationId, freshEntries(hash, now, options.processId));
    }
  };
  // One flush at a time: while Redis is away its commands wait, and ticks must not pile more behind them.
  // Sharing is best effort: a flush that fails leaves the counts of this process alone, and tries again.
  let flushing = false;
  const tick = () => {
    if (flushing) return;
    flushing = true;
    void flush()
      .catch(() => undefined)
      .finally(() => (flushing = false));
  };
  const timer = setInterval(tick, options.everyMs ?? SHARE_EVERY_MS);
  timer.unref();
  return { flush: () => flush(), stop: () => clearInterval(timer) };
}

/**
 * Redis hash of the deployment's GitHub requests since it began ("installation:kind" → count), which every
 * process adds its own to as it shares its budget: `/metrics` reads it as counters. Kept apart from the
 * rolling hour above, which forgets.
 */
export function requestTotalsKey(queuePrefix: string): string {
  return `${queuePrefix}:github-requests`;
}

/** Adds what this process counted since its last flush to the deployment's totals; kept for the next one on failure. */
async function addToTotals(client: Redis, budget: RequestBudget, queuePrefix: string): Promise<void> {
  const taken = budget.takeTally();
  if (taken.size === 0) return;
  try {
    const pipeline = client.multi();
    for (const [field, n] of taken) pipeline.hincrby(requestTotalsKey(queuePrefix), field, n);
    await pipeline.exec();
  } catch (error) {
    budget.untally(taken);
    throw error;
  }
}

export type RequestTotal = { installationId: number; kind: RequestKind; requests: number };

/** The deployment's GitHub requests since it began, by installation and kind (see `requestTotalsKey`). */
export async function readRequestTotals(redis: Redis, queuePrefix: string): Promise<RequestTotal[]> {
  const hash = await redis.hgetall(requestTotalsKey(queuePrefix));
  const totals: RequestTotal[] = [];
  for (const [field, value] of Object.entries(hash)) {
    const match = /^(\d+):(read|write|content-write)$/.exec(field);
    const requests = Number(value);
    if (!match || !Number.isSafeInteger(requests)) continue;
    totals.push({ installationId: Number(match[1]), kind: match[2] as RequestKind, requests });
  }
  return totals.sort((a, b) => a.installationId - b.installationId || a.kind.localeCompare(b.kind));
}

/** Every installation's budget as the worker processes last shared it (for `drover status`). */
export async function readBudgets(redis: Redis, queuePrefix: string, now = Date.now()): Promise<BudgetRow[]> {
  const prefix = budgetKeyPrefix(queuePrefix);
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, found] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 100);
    cursor = next;
    keys.push(...found);
  } while (cursor !== "0");
  const rows: BudgetRow[] = [];
  for (const key of keys.sort()) {
    const installationId = Number(key.slice(prefix.length));
    if (!Number.isInteger(installationId)) continue;
    const entries = freshEntries(await redis.hgetall(key), now);
    if (entries.length === 0) continue;
    const total = combine(entries);
    rows.push({
      installationId,
      requests: total.requests,
      notModified: total.notModified,
      writes: total.writes,
      contentWrites: total.contentWrites,
      contentWritesLastMinute: total.contentWritesLastMinute,
      rate: total.rate && { ...total.rate, resetAt: new Date(total.rate.resetAt) },
      processes: total.processes,
    });
  }
  return rows.sort((a, b) => a.installationId - b.installationId);
}

/**
 * `readBudgets` for a command-line process: a connection of its own, given up after 3 s; null when Redis
 * does not answer (`drover status` still shows the tasks).
 */
export async function budgetsFromRedis(url: string, queuePrefix: string): Promise<BudgetRow[] | null> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 3000,
    retryStrategy: () => null,
  });
  redis.on("error", () => {});
  try {
    await redis.connect();
    return await readBudgets(redis, queuePrefix);
  } catch {
    return null;
  } finally {
    redis.disconnect();
  }
}
