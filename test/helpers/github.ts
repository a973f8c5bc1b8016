import nock from "nock";
import { afterEach, beforeEach, expect } from "vitest";

/**
 * The one place tests talk to a fake GitHub. Every test that uses it fails on a request nobody mocked
 * (GitHub would have been called for real) and on a mock nobody used (the code skipped a call the test
 * expected). Only loopback connections (PostgreSQL, Redis, local servers) are let through.
 */
export const GITHUB_API = "https://api.github.com";

export function useGitHubMock(): { api: () => nock.Scope } {
  const unmatched: string[] = [];
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
    const pending = nock.pendingMocks();
    const missing = unmatched.splice(0);
    nock.cleanAll();
    nock.enableNetConnect();
    expect(missing, "requests to GitHub that no mock answered").toEqual([]);
    expect(pending, "GitHub mocks that were never called").toEqual([]);
  });
  return { api: () => nock(GITHUB_API) };
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
