import Bottleneck from "bottleneck";
import { Redis } from "ioredis";
import { ProbotOctokit } from "probot";

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
 */
export function droverOctokit(options: {
  pace: boolean;
  redisUrl?: string;
  /** Base of the wait before retrying a 5xx answer (Octokit's default: 1 s, then 4 s, then 9 s). */
  retryAfterBaseMs?: number;
}): typeof ProbotOctokit {
  let connection: Bottleneck.IORedisConnection | undefined;
  const cluster = () => {
    if (!options.pace || !options.redisUrl) return {};
    connection ??= new Bottleneck.IORedisConnection({
      client: new Redis(options.redisUrl, { maxRetriesPerRequest: null, lazyConnect: false }),
    });
    return { Bottleneck, connection };
  };
  return class DroverOctokit extends ProbotOctokit {
    constructor(given: OctokitOptions = {}) {
      super({
        ...given,
        ...authAtBaseUrl(given),
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
    }
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
