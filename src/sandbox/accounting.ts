import type { Actor } from "./auth.ts";

/**
 * What the sandbox counts, as GitHub would: every request it serves (a log the benchmarks read), and
 * each caller's primary rate limit (the `x-ratelimit-*` headers).
 */

/** One request the sandbox served. */
export interface RequestRecord {
  /** When it was answered (ms since the epoch). */
  at: number;
  kind: "rest" | "graphql" | "git";
  method: string;
  /**
   * GitHub's path template (`/repos/{owner}/{repo}/issues/{issue_number}`), `(no route)` when none
   * matched, `/graphql` for GraphQL, and for git the service (`git-upload-pack`, `git-receive-pack`).
   */
  route: string;
  /** The path and query as asked. */
  url: string;
  status: number;
  /** Who called: an installation (its token acts as the app's bot), the app (JWT), a person, or nobody. */
  actor: Actor["kind"];
  /** The installation whose token made the request, else null. */
  installationId: number | null;
  /** The person's login, or the app's bot for an installation; null for the app and for nobody. */
  login: string | null;
  /** A write GitHub counts against its secondary content-creation limit (see `isContentGenerating`). */
  contentGenerating: boolean;
  /** The request asked "only if changed" (If-None-Match). */
  conditional: boolean;
  /** Answered 304 Not Modified: no body, and not counted against the primary limit. */
  notModified: boolean;
  /** Counted against the caller's primary rate limit (REST and GraphQL; never a 304, never git). */
  counted: boolean;
}

/**
 * Whether GitHub counts a request as content-generating (at most 80 a minute and 500 an hour, on top
 * of the primary limit; "Rate limits for the REST API", secondary rate limits). GitHub does not publish
 * a list of such endpoints; its docs say the limit is on creating content, through the web interface,
 * REST and GraphQL alike. The sandbox counts, and the benchmarks hold Drover to, this reading:
 *
 * - content-generating: every POST, PUT and PATCH that makes or changes something people see on
 *   GitHub: issues and their edits (title, body, state, labels), comments and their edits, labels added
 *   to an issue or made in a repository, reactions, dependency and sub-issue links (and their order),
 *   pull requests and their edits, reviews and review comments, merges and branch updates, check runs
 *   and their updates, commits through the contents API, repositories; and GraphQL mutations
 *   (auto-merge);
 * - not: reads (GET, HEAD), every DELETE (removing a label, a comment, a reaction or a link takes content
 *   away rather than making it), an installation access token (authentication), a repository's settings
 *   (`PATCH /repos/{owner}/{repo}`), GraphQL queries, and git over HTTP (a push is not an API request).
 */
export function isContentGenerating(request: {
  kind: RequestRecord["kind"];
  method: string;
  route: string;
  /** For GraphQL: whether the document is a mutation. */
  mutation?: boolean;
}): boolean {
  if (request.kind === "git") return false;
  if (request.kind === "graphql") return request.mutation === true;
  if (request.method !== "POST" && request.method !== "PUT" && request.method !== "PATCH") return false;
  return !NOT_CONTENT.has(`${request.method} ${request.route}`);
}

const NOT_CONTENT = new Set([
  "POST /app/installations/{installation_id}/access_tokens",
  "PATCH /repos/{owner}/{repo}",
  "POST (no route)",
  "PUT (no route)",
  "PATCH (no route)",
]);

export interface RateLimitOptions {
  /** Requests an hour for an installation (GitHub: 5,000; up to 12,500 for large organisations). Default 5000. */
  installation?: number;
  /** Requests an hour for a person's token and for the app's JWT. Default 5000. */
  user?: number;
  /** Requests an hour without credentials. Default 60. */
  anonymous?: number;
  /**
   * Refuse requests past the limit (403, `x-ratelimit-remaining: 0`) as GitHub does. Default false:
   * the numbers are reported but nothing is refused, because tests and benchmarks pack hours of GitHub
   * traffic into seconds.
   */
  enforce?: boolean;
}

/** One caller's window: GitHub's primary limit counts from the first request for an hour. */
type Window = { limit: number; used: number; resetAt: number };

export type RateLimitState = { limit: number; used: number; remaining: number; reset: number };

const HOUR_MS = 60 * 60_000;

export type Resource = "core" | "graphql";

/**
 * The primary rate limit per caller (installation, person, app, or anonymous) and resource (REST's
 * `core`, and `graphql`, counted apart as on GitHub), in hour-long windows.
 */
export class RateLimits {
  readonly #windows = new Map<string, Window>();
  readonly #options: Required<RateLimitOptions>;

  constructor(options: RateLimitOptions = {}) {
    this.#options = {
      installation: options.installation ?? 5000,
      user: options.user ?? 5000,
      anonymous: options.anonymous ?? 60,
      enforce: options.enforce ?? false,
    };
  }

  get enforced(): boolean {
    return this.#options.enforce;
  }

  /** The bucket a caller's requests count in, and its hourly limit. */
  #bucket(actor: Actor, resource: Resource): { key: string; limit: number } {
    switch (actor.kind) {
      case "installation":
        return {
          key: `${resource} installation:${actor.installation.id}`,
          limit: this.#options.installation,
        };
      case "person":
        return { key: `${resource} user:${actor.account.id}`, limit: this.#options.user };
      case "app":
        return { key: `${resource} app:${actor.app.id}`, limit: this.#options.user };
      case "anonymous":
        return { key: `${resource} anonymous`, limit: this.#options.anonymous };
    }
  }

  #window(actor: Actor, resource: Resource, at: number): Window {
    const { key, limit } = this.#bucket(actor, resource);
    let window = this.#windows.get(key);
    if (!window || window.resetAt <= at) {
      window = { limit, used: 0, resetAt: at + HOUR_MS };
      this.#windows.set(key, window);
    }
    return window;
  }

  /** The caller's limit as it stands, without counting anything. */
  peek(actor: Actor, resource: Resource, at = Date.now()): RateLimitState {
    return state(this.#window(actor, resource, at));
  }

  /** Whether the caller has nothing left this hour (and so, when enforced, is refused). */
  exhausted(actor: Actor, resource: Resource, at = Date.now()): boolean {
    const window = this.#window(actor, resource, at);
    return window.used >= window.limit;
  }

  /** Counts one request. */
  count(actor: Actor, resource: Resource, at = Date.now()): RateLimitState {
    const window = this.#window(actor, resource, at);
    window.used += 1;
    return state(window);
  }

  /** An installation's REST limit as it stands (a fresh hour when it has made no request yet). */
  forInstallation(installationId: number, at = Date.now()): RateLimitState {
    const window = this.#windows.get(`core installation:${installationId}`);
    if (!window || window.resetAt <= at)
      return {
        limit: this.#options.installation,
        used: 0,
        remaining: this.#options.installation,
        reset: Math.floor((at + HOUR_MS) / 1000),
      };
    return state(window);
  }
}

function state(window: Window): RateLimitState {
  return {
    limit: window.limit,
    used: window.used,
    remaining: Math.max(0, window.limit - window.used),
    reset: Math.floor(window.resetAt / 1000),
  };
}

/** GitHub's headers for a caller's primary limit. */
export function rateLimitHeaders(limit: RateLimitState, resource: Resource): Record<string, string> {
  return {
    "x-ratelimit-limit": String(limit.limit),
    "x-ratelimit-remaining": String(limit.remaining),
    "x-ratelimit-used": String(limit.used),
    "x-ratelimit-reset": String(limit.reset),
    "x-ratelimit-resource": resource,
  };
}

/**
 * Whether `If-None-Match` matches `etag`, as HTTP says for GET (RFC 9110, 13.1.2): weak comparison (a
 * `W/` prefix on either side is ignored), a comma-separated list of tags, or `*`.
 */
export function etagMatches(ifNoneMatch: string | string[] | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  const header = Array.isArray(ifNoneMatch) ? ifNoneMatch.join(",") : ifNoneMatch;
  if (header.trim() === "*") return true;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, "");
  const wanted = opaque(etag);
  return (header.match(/(?:W\/)?"[^"]*"/g) ?? []).some((tag) => opaque(tag) === wanted);
}
