import type { Octokit } from "./types.ts";

/**
 * Conditional requests: a GET Drover has made before is sent again with the ETag of the answer it got
 * (`If-None-Match`), and GitHub answers 304 Not Modified, not charged to the hourly limit, when nothing
 * changed; the client then hands the caller the body it kept, as a 200. Callers notice nothing: the
 * answer is GitHub's current one either way, since GitHub, not the cache, decides whether it changed.
 *
 * Answers are kept per installation (never shared between two installations: each sees what its own
 * token may see) in memory, least recently used dropped first past 5,000 answers or 32 MiB of JSON. GitHub's
 * ETags also depend on the token, so after the installation token is renewed (hourly) the first read
 * of each resource is a full one again.
 */
export class ConditionalCache {
  /** Answers kept at most (default 5,000). */
  readonly maxEntries: number;
  /** Size of the kept bodies at most, in characters of JSON (default 32 MiB). */
  readonly maxBytes: number;
  /** Past this a body is not kept: one listing must not push out everything else (default an eighth). */
  readonly maxEntryBytes: number;
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  readonly #entries = new Map<string, CachedAnswer>();
  #bytes = 0;

  constructor(options: { maxEntries?: number; maxBytes?: number; maxEntryBytes?: number } = {}) {
    this.maxEntries = options.maxEntries ?? 5_000;
    this.maxBytes = options.maxBytes ?? 32 * 1024 * 1024;
    this.maxEntryBytes = options.maxEntryBytes ?? this.maxBytes / 8;
  }

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get(key: string): CachedAnswer | undefined {
    const entry = this.#entries.get(key);
    if (entry) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    }
    return entry;
  }

  set(key: string, entry: CachedAnswer): void {
    this.delete(key);
    if (entry.body.length > this.maxEntryBytes) return;
    this.#entries.set(key, entry);
    this.#bytes += entry.body.length;
    for (const [oldest, old] of this.#entries) {
      if (this.#entries.size <= this.maxEntries && this.#bytes <= this.maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= old.body.length;
    }
  }

  delete(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    this.#bytes -= entry.body.length;
  }
}

/**
 * A 200 answer to a GET, kept to answer a later 304: its body as JSON text, so no caller can change what
 * the next one gets (JSON, not v8's serializer: three times faster both ways on a 100-issue listing).
 */
export type CachedAnswer = {
  etag: string;
  url: string;
  headers: Record<string, string | number | undefined>;
  body: string;
};

type Answer = {
  status: number;
  url: string;
  headers: Record<string, string | number | undefined>;
  data: unknown;
};
type HookOptions = Required<Parameters<Octokit["request"]["endpoint"]["parse"]>[0]>;
type RequestHook = (
  request: (options: HookOptions) => Answer | Promise<Answer>,
  options: HookOptions,
) => Promise<Answer>;

/** What a 304 says that is news: the rate limit, the date, the validators. Never the (empty) body's type. */
const ENTITY_HEADERS = new Set(["content-length", "content-type", "content-encoding", "transfer-encoding"]);

/**
 * Makes every GET of `octokit` (an installation's client) conditional, through `cache`. A GET that
 * already carries its own `If-None-Match` or `If-Modified-Since`, or asks for the body as a stream, is
 * left as it is.
 */
export function conditionalRequests(octokit: Octokit, installationId: number, cache: ConditionalCache): void {
  const hook: RequestHook = async (request, options) => {
    if (!cacheable(options)) return request(options);
    const { url, headers } = octokit.request.endpoint.parse(options);
    const key = `${installationId} ${url} ${String(headers.accept ?? "")} ${String(headers["x-github-api-version"] ?? "")}`;
    const cached = cache.get(key);
    // The hooks inside this one were handed `options` already: the question is asked by changing it.
    if (cached) options.headers["if-none-match"] = cached.etag;
    let answer: Answer;
    try {
      answer = await request(options);
    } catch (error) {
      if (cached && notModified(error)) return fromCache(cached, error.response.headers);
      throw error;
    }
    remember(cache, key, answer);
    return answer;
  };
  octokit.hook.wrap("request", hook);
}

function cacheable(options: HookOptions): boolean {
  if (options.method !== "GET") return false;
  if (options.request?.parseSuccessResponseBody === false) return false;
  return !Object.keys(options.headers).some((name) => /^if-(none-match|modified-since)$/i.test(name));
}

function notModified(error: unknown): error is { response: { headers: Answer["headers"] } } {
  const candidate = error as { status?: unknown; response?: { headers?: unknown } } | null;
  return candidate?.status === 304 && typeof candidate.response?.headers === "object";
}

function remember(cache: ConditionalCache, key: string, answer: Answer): void {
  const etag = answer.headers.etag;
  if (answer.status !== 200 || typeof etag !== "string" || etag === "") {
    cache.delete(key);
    return;
  }
  // Octokit parses JSON and text; anything else (binary) comes as an ArrayBuffer, not kept.
  if (answer.data instanceof ArrayBuffer) {
    cache.delete(key);
    return;
  }
  cache.set(key, { etag, url: answer.url, headers: answer.headers, body: JSON.stringify(answer.data) });
}

function fromCache(cached: CachedAnswer, fresh: Answer["headers"]): Answer {
  const headers = { ...cached.headers };
  for (const [name, value] of Object.entries(fresh)) if (!ENTITY_HEADERS.has(name)) headers[name] = value;
  return { status: 200, url: cached.url, headers, data: JSON.parse(cached.body) as unknown };
}
