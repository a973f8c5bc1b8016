import os from "node:os";
import Bottleneck from "bottleneck";
import { Redis } from "ioredis";
import { ProbotOctokit } from "probot";
import {
  bindInstallation,
  requestBudget,
  shareBudgets,
  type BudgetLog,
  type RequestBudget,
} from "./budget.ts";
import { ConditionalCache, conditionalRequests } from "./conditional.ts";

type OctokitOptions = NonNullable<ConstructorParameters<typeof ProbotOctokit>[0]>;
type ThrottleHandler = (retryAfter: number, options: { request: { retryCount: number } }) => boolean;

/**
 * Hitting a limit (primary or secondary), a request waits what GitHub says and tries again, twice, when
 * that is a minute or less; past that the request fails and its job waits instead (see processJob),
 * so a rate-limited task is delayed, never failed. (Probot's own handler gives up on secondary limits.)
 */
const waitBriefly: ThrottleHandler = (retryAfter, options) =>
  retryAfter <= 60 && options.request.retryCount < 2;

/**
 * Probot's Octokit with Drover's limit handling. With `pace`, writes are made one at a time, a second
 * apart, per installation (Probot keys the throttle by installation id), as GitHub asks; with `redisUrl`
 * that holds across every Drover process sharing that Redis, not just within one. Without `pace` (the
 * sandbox, GITHUB_THROTTLE=off) nothing is paced.
 *
 * An installation's client also makes its GETs conditional (conditional.ts: a 304 is answered from the
 * body kept, and GitHub does not charge it) and counts every request it sends into the request budget
 * (budget.ts), which `redisUrl` shares with the other processes and `drover status`.
 */
export function droverOctokit(options: {
  pace: boolean;
  redisUrl?: string;
  /** DROVER_QUEUE_PREFIX: the budget shared through Redis is this deployment's. Default "drover". */
  queuePrefix?: string;
  /** Base of the wait before retrying a 5xx answer (Octokit's default: 1 s, then 4 s, then 9 s). */
  retryAfterBaseMs?: number;
  /** Where requests are counted (default: the process's `requestBudget`). */
  budget?: RequestBudget;
  /** Answers kept for conditional requests (default: one cache for this class's clients). */
  cache?: ConditionalCache;
}): typeof ProbotOctokit {
  let client: Redis | undefined;
  const redis = (url: string) =>
    (client ??= new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false }));
  let connection: Bottleneck.IORedisConnection | undefined;
  const cluster = () => {
    if (!options.pace || !options.redisUrl) return {};
    connection ??= new Bottleneck.IORedisConnection({ client: redis(options.redisUrl) });
    return { Bottleneck, connection };
  };
  const budget = options.budget ?? requestBudget;
  const cache = options.cache ?? new ConditionalCache();
  let shared = false;
  const share = () => {
    if (shared || !options.redisUrl) return;
    shared = true;
    const url = options.redisUrl;
    shareBudgets(budget, () => redis(url), {
      processId: `${os.hostname()}:${process.pid}`,
      queuePrefix: options.queuePrefix ?? "drover",
    });
  };
  return class DroverOctokit extends ProbotOctokit {
    constructor(given: OctokitOptions = {}) {
      const installationId = installationOfOptions(given);
      const seen: { log?: BudgetLog } = {};
      super({
        ...given,
        ...authAtBaseUrl(given),
        ...(installationId === undefined
          ? {}
          : { request: { ...given.request, fetch: counted(given, installationId, budget, () => seen.log) } }),
        ...(options.retryAfterBaseMs === undefined
          ? {}
          : { retry: { ...given.retry, retryAfterBaseValue: options.retryAfterBaseMs } }),
        throttle: {
          ...given.throttle,
          ...cluster(),
          enabled: options.pace,
          onRateLimit: waitBriefly,
          onSecondaryRateLimit: waitBriefly,
        },
      });
      if (installationId === undefined) return;
      seen.log = this.log as unknown as BudgetLog;
      bindInstallation(this, installationId);
      conditionalRequests(this, installationId, cache);
      share();
    }
  };
}

/** The installation a client is made for (Probot's `auth(installationId)`); undefined for the app's own. */
function installationOfOptions(given: OctokitOptions): number | undefined {
  const id = (given.auth as { installationId?: unknown } | undefined)?.installationId;
  const number = typeof id === "string" ? Number(id) : id;
  return typeof number === "number" && Number.isInteger(number) ? number : undefined;
}

/**
 * The client's fetch, counting every response into the budget. Counting here, under Octokit's retries
 * and throttling, sees each request GitHub sees, retries included, and each one's x-ratelimit-* headers.
 */
function counted(
  given: OctokitOptions,
  installationId: number,
  budget: RequestBudget,
  log: () => BudgetLog | undefined,
): typeof fetch {
  const inner = (given.request as { fetch?: typeof fetch } | undefined)?.fetch;
  return async (input, init) => {
    const response = await (inner ?? globalThis.fetch)(input, init);
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    budget.record(
      installationId,
      {
        method: init?.method ?? "GET",
        url,
        status: response.status,
        headers: response.headers,
        body: init?.body,
      },
      log(),
    );
    return response;
  };
}

/**
 * Probot gives the app's auth strategy a `request` for api.github.com whatever its `baseUrl`. Requests
 * made through the client are unaffected (the strategy's hook takes their base URL), but a token asked
 * for directly (`octokit.auth({ type: "installation" })`, as git's token is) would be asked of github.com
 * when no request had cached one yet: on GitHub Enterprise Server or the sandbox, every fresh worker's
 * first push check failed. Here the strategy's `request` is given the client's base URL.
 */
function authAtBaseUrl(given: OctokitOptions): Pick<OctokitOptions, "auth"> {
  const auth = given.auth as { request?: { defaults?: unknown } } | undefined;
  const request = auth?.request;
  if (!given.baseUrl || typeof request?.defaults !== "function") return {};
  const defaults = request.defaults as (options: { baseUrl: string }) => unknown;
  return { auth: { ...auth, request: defaults.call(request, { baseUrl: given.baseUrl }) } };
}
