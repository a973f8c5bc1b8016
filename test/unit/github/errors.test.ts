import { describe, expect, it } from "vitest";
import { classifyGitHubError } from "../../../src/github/errors.ts";

const failure = (
  status: number,
  headers: Record<string, string> = {},
  message = "Forbidden",
  request: { method: string; url: string } = { method: "GET", url: "https://api.github.com/repos/o/r" },
  data?: unknown,
) => ({ status, message, request, response: { headers, data } });

const waitOf = (error: unknown, now?: number) => {
  const failed = classifyGitHubError(error, now);
  return failed?.kind === "rate-limited" ? failed.waitMs : null;
};

describe("classifyGitHubError", () => {
  describe("rate limits: the job waits what GitHub says", () => {
    it("honours retry-after", () => {
      expect(waitOf(failure(403, { "retry-after": "30" }, "You have exceeded a secondary rate limit"))).toBe(
        30_000,
      );
      expect(waitOf(failure(429, { "retry-after": "0" }))).toBe(1_000);
    });

    it("waits for the primary limit's reset", () => {
      const now = 1_000_000_000;
      const reset = { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(now / 1000 + 120) };
      expect(waitOf(failure(403, reset), now)).toBe(121_000);
    });

    it("waits a minute for a secondary limit that names no time, and for a bare 429", () => {
      expect(waitOf(failure(403, {}, "You have exceeded a secondary rate limit. Please wait"))).toBe(60_000);
      expect(waitOf(failure(429))).toBe(60_000);
    });
  });

  it("takes 5xx for transient", () => {
    expect(classifyGitHubError(failure(502))).toEqual({ kind: "transient", status: 502 });
    expect(classifyGitHubError(failure(500))).toEqual({ kind: "transient", status: 500 });
  });

  it("refuses for good a 422 on a write, saying what was refused, GitHub's words, and what to do", () => {
    const refused = classifyGitHubError(
      failure(
        422,
        {},
        "Validation Failed",
        { method: "POST", url: "https://api.github.com/repos/octo-org/repo/pulls" },
        {
          message: "Validation Failed",
          errors: [{ message: "A pull request already exists for octo-org:b." }],
        },
      ),
    );
    expect(refused).toEqual({
      kind: "refused",
      status: 422,
      message: expect.stringMatching(
        /^GitHub refused to create the pull request in octo-org\/repo \(422: Validation Failed: A pull request already exists for octo-org:b\.\): .*remove and add the label/,
      ),
    });
  });

  it.each([
    [401, "GET", "check APP_ID"],
    [403, "POST", "grants write access"],
    [404, "PATCH", "still installed"],
    [410, "GET", "turned off"],
  ])("refuses for good a %i (%s)", (status, method, advice) => {
    const refused = classifyGitHubError(
      failure(status, {}, "No", { method, url: "https://api.github.com/repos/o/r/issues/comments/7" }),
    );
    expect(refused).toMatchObject({ kind: "refused", status });
    expect(refused?.kind === "refused" && refused.message).toContain(advice);
  });

  it("names a refused read by its path", () => {
    const refused = classifyGitHubError(
      failure(403, {}, "Resource not accessible by integration", {
        method: "GET",
        url: "https://api.github.com/repos/o/r/collaborators/mona/permission",
      }),
    );
    expect(refused?.kind === "refused" && refused.message).toMatch(
      /^GitHub refused to let the app read \/repos\/o\/r\/collaborators\/mona\/permission \(403: Resource not accessible by integration\): the app is not allowed to;/,
    );
  });

  it("leaves a 404 on a read, other answers and errors that are not GitHub's unclassified", () => {
    expect(classifyGitHubError(failure(404))).toBeNull();
    expect(classifyGitHubError(failure(409))).toBeNull();
    expect(classifyGitHubError(new Error("socket hang up"))).toBeNull();
    expect(classifyGitHubError(undefined)).toBeNull();
  });
});
