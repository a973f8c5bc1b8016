import nock from "nock";
import { afterEach, beforeEach, expect } from "vitest";
import { assertMatchesOperation, assertMatchesRequest } from "./openapi.ts";

/**
 * The one place tests talk to a fake GitHub. Every test that uses it fails on a request nobody mocked
 * (GitHub would have been called for real) and on a mock nobody used (the code skipped a call the test
 * expected). Only loopback connections (PostgreSQL, Redis, local servers) are let through.
 *
 * `api()` gives a strict scope: each of its interceptors must be used (as often as `.times()` says).
 * `optional()` gives a persisted scope for calls whose number depends on how jobs race (an `announce`
 * publishing the status a second time, say): its interceptors answer any number of times, none included,
 * and are not checked for use. Tests using it assert on what GitHub ended up with instead. A request
 * that neither answers still fails the test.
 *
 * Every reply either gives is checked against GitHub's REST description (@octokit/openapi, as the
 * sandbox's are in test/helpers/openapi.ts): the status must be one the operation describes and a JSON
 * body must match its schema. A mismatch fails the test with the request, the operation and each problem.
 * The reply is still sent, so the code under test sees what the mock says.
 */
export const GITHUB_API = "https://api.github.com";

export function useGitHubMock(): { api: () => nock.Scope; optional: () => nock.Scope } {
  const unmatched: string[] = [];
  const mismatched: string[] = [];
  const strict: nock.Scope[] = [];
  const onNoMatch = (req: { method?: string; path?: string; href?: string; host?: string }) => {
    unmatched.push(`${req.method ?? "?"} ${req.href ?? `${req.host ?? ""}${req.path ?? ""}`}`);
  };
  beforeEach(() => {
    nock.disableNetConnect();
    nock.enableNetConnect(/^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/);
    nock.emitter.on("no match", onNoMatch);
  });
  afterEach(() => {
    nock.emitter.removeListener("no match", onNoMatch);
    const pending = strict.splice(0).flatMap((scope) => scope.pendingMocks());
    const missing = unmatched.splice(0);
    const wrong = [...new Set(mismatched.splice(0))];
    nock.cleanAll();
    nock.enableNetConnect();
    expect(missing, "requests to GitHub that no mock answered").toEqual([]);
    expect(wrong, "GitHub mock replies that GitHub's REST description does not allow").toEqual([]);
    expect(pending, "GitHub mocks that were never called").toEqual([]);
  });
  const check: ReplyCheck = (reply) => {
    try {
      checkReply(reply);
    } catch (error) {
      mismatched.push(error instanceof Error ? error.message : String(error));
    }
  };
  return {
    api: () => {
      const scope = nock(GITHUB_API);
      strict.push(scope);
      return checkedScope(scope, check);
    },
    optional: () => checkedScope(nock(GITHUB_API).persist(), check),
  };
}

export type Reply = {
  method: string;
  path: string;
  status: number;
  body: unknown;
  headers: unknown;
  /** The request asked "only if changed" (If-None-Match, If-Modified-Since). */
  conditional: boolean;
  /** What the code under test sent, parsed when JSON. */
  requestBody: unknown;
};
type ReplyCheck = (reply: Reply) => void;
type FullReply = [number, unknown?, unknown?];
type ReplyContext = { req: { method?: string; headers?: Record<string, unknown> } };

/**
 * Statuses GitHub may answer any operation with, described there or not: bad credentials, rate limits
 * (403 and 429) and server errors. Where the operation does not describe one, its body must still be
 * GitHub's error: an object with a `message`.
 */
const ANY_OPERATION = new Set([401, 403, 429, 500, 502, 503, 504]);

/** A reply whose media type is not JSON (a raw file's contents, a diff) is checked for its status only. */
export function checkReply(reply: Reply): void {
  const type = contentType(reply.headers);
  const json = type === undefined || /json/i.test(type);
  const body = json ? parsed(reply.body) : reply.body;
  const label = `${reply.method} ${reply.path} → ${reply.status}`;
  // GitHub's pagination links name a repository by id; its description only by owner and name.
  const path = reply.path.replace(/^\/repositories\/\d+\//, "/repos/{owner}/{repo}/");
  // What Drover sent must be a request GitHub takes, whatever the mock answers.
  assertMatchesRequest({
    method: reply.method,
    path,
    body: reply.requestBody === "" ? undefined : reply.requestBody,
  });
  // GitHub answers any conditional GET whose resource has not changed with 304 and no body.
  if (reply.status === 304 && reply.conditional) {
    if (body === undefined || body === "") return;
    throw new Error(`${label}: GitHub sends no body with 304 Not Modified, got ${JSON.stringify(body)}`);
  }
  try {
    assertMatchesOperation({
      method: reply.method,
      path,
      status: reply.status,
      body: json ? body : undefined,
    });
  } catch (error) {
    const problem = error instanceof Error ? error.message : String(error);
    if (ANY_OPERATION.has(reply.status) && problem.includes(`has no ${reply.status} response`)) {
      const message = (body as { message?: unknown } | null)?.message;
      if (typeof message === "string") return;
      throw new Error(
        `${label}: GitHub's error replies carry a string "message", got ${JSON.stringify(body)}`,
      );
    }
    // A non-JSON reply where the description has a JSON schema only wants its status checked.
    if (!json && problem.includes("does not match GitHub's schema")) return;
    throw new Error(`${problem}\n  (mocked reply to ${reply.method} ${reply.path})`);
  }
}

/** A string body that is JSON, parsed (nock sends a string as it is); anything else as it is. */
function parsed(body: unknown): unknown {
  if (typeof body !== "string" || body === "") return body;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return body;
  }
}

function contentType(headers: unknown): string | undefined {
  if (!headers || typeof headers !== "object") return undefined;
  const entry = Object.entries(headers).find(([name]) => name.toLowerCase() === "content-type");
  return entry ? String(entry[1]) : undefined;
}

const VERBS = new Set(["get", "post", "put", "patch", "delete", "head", "options", "merge", "intercept"]);

/** `scope`, with each interceptor's reply checked by `check` when it is sent. */
function checkedScope(scope: nock.Scope, check: ReplyCheck): nock.Scope {
  const proxy: nock.Scope = new Proxy(scope, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const result: unknown = value.apply(target, args);
        if (result === target) return proxy;
        if (typeof property === "string" && VERBS.has(property))
          return checkedInterceptor(result as nock.Interceptor, target, proxy, check);
        return result;
      };
    },
  });
  return proxy;
}

function checkedInterceptor(
  interceptor: nock.Interceptor,
  scope: nock.Scope,
  scopeProxy: nock.Scope,
  check: ReplyCheck,
): nock.Interceptor {
  const proxy: nock.Interceptor = new Proxy(interceptor, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const result: unknown =
          property === "reply" ? value.call(target, checkedReply(args, check)) : value.apply(target, args);
        if (result === target) return proxy;
        if (result === scope) return scopeProxy;
        return result;
      };
    },
  });
  return proxy;
}

/**
 * Any form of `.reply(...)` (status and body, status and a body function, one function giving
 * [status, body, headers]) as one function giving [status, body, headers], checked before it is sent.
 */
function checkedReply(args: unknown[], check: ReplyCheck) {
  return async function (this: ReplyContext, uri: string, requestBody: unknown): Promise<FullReply> {
    const call = async (fn: (...a: unknown[]) => unknown): Promise<unknown> =>
      fn.length === 3
        ? new Promise((resolve, reject) =>
            fn.call(this, uri, requestBody, (error: unknown, value: unknown) =>
              error ? reject(error as Error) : resolve(value),
            ),
          )
        : fn.call(this, uri, requestBody);
    let reply: FullReply;
    if (typeof args[0] === "function")
      reply = (await call(args[0] as (...a: unknown[]) => unknown)) as FullReply;
    else {
      const [status = 200, body, headers] = args as [number?, unknown?, unknown?];
      reply = [
        status,
        typeof body === "function" ? await call(body as (...a: unknown[]) => unknown) : body,
        headers,
      ];
    }
    const [status, body, headers] = reply;
    const asked = this.req.headers ?? {};
    const conditional = "if-none-match" in asked || "if-modified-since" in asked;
    check({ method: this.req.method ?? "GET", path: uri, status, body, headers, conditional, requestBody });
    return reply;
  };
}

/**
 * Mocks the installation token exchange Probot makes before acting as an installation. Give it a scope
 * of its own (`api().persist()` persists every interceptor of that scope).
 */
export function mockInstallationToken(
  scope: nock.Scope,
  installationId: number,
  token = "ghs_test_installation_token",
) {
  return scope.post(`/app/installations/${installationId}/access_tokens`).reply(201, {
    token,
    expires_at: new Date(Date.now() + 3_600_000).toISOString(),
    permissions: {
      issues: "write",
      contents: "write",
      pull_requests: "write",
      checks: "write",
      metadata: "read",
    },
    repository_selection: "all",
  });
}

/**
 * GitHub answering every request with `status` (a message body as GitHub's errors have), until the
 * returned function is called: for tests of what jobs do when GitHub refuses or fails everything.
 */
export function githubAnswersEverything(status: number): () => void {
  nock.disableNetConnect();
  nock.enableNetConnect(/^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/);
  const body = {
    message: status >= 500 ? "Server Error" : "Not Found",
    documentation_url: "https://docs.github.com",
  };
  const scope = nock(GITHUB_API)
    .persist()
    .intercept(/.*/, "GET")
    .reply(status, body)
    .intercept(/.*/, "POST")
    .reply(status, body)
    .intercept(/.*/, "PATCH")
    .reply(status, body)
    .intercept(/.*/, "PUT")
    .reply(status, body)
    .intercept(/.*/, "DELETE")
    .reply(status, body);
  return () => {
    scope.persist(false);
    nock.cleanAll();
    nock.enableNetConnect();
  };
}
