import nock from "nock";
import { afterEach, beforeEach, expect } from "vitest";

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
 */
export const GITHUB_API = "https://api.github.com";

export function useGitHubMock(): { api: () => nock.Scope; optional: () => nock.Scope } {
  const unmatched: string[] = [];
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
    nock.cleanAll();
    nock.enableNetConnect();
    expect(missing, "requests to GitHub that no mock answered").toEqual([]);
    expect(pending, "GitHub mocks that were never called").toEqual([]);
  });
  return {
    api: () => {
      const scope = nock(GITHUB_API);
      strict.push(scope);
      return scope;
    },
    optional: () => nock(GITHUB_API).persist(),
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
