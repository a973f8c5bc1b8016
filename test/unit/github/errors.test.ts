import { describe, expect, it } from "vitest";
import { rateLimitDelay } from "../../../src/github/rate-limit.ts";

const failure = (status: number, headers: Record<string, string> = {}, message = "Forbidden") => ({
  status,
  message,
  response: { headers },
});

describe("rateLimitDelay", () => {
  it("honours retry-after", () => {
    expect(
      rateLimitDelay(failure(403, { "retry-after": "30" }, "You have exceeded a secondary rate limit")),
    ).toBe(30_000);
    expect(rateLimitDelay(failure(429, { "retry-after": "0" }))).toBe(1_000);
  });

  it("waits for the primary limit's reset", () => {
    const now = 1_000_000_000;
    expect(
      rateLimitDelay(
        failure(403, { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(now / 1000 + 120) }),
        now,
      ),
    ).toBe(121_000);
  });

  it("waits a minute for a secondary limit that names no time", () => {
    expect(rateLimitDelay(failure(403, {}, "You have exceeded a secondary rate limit. Please wait"))).toBe(
      60_000,
    );
  });

  it("is null for other failures", () => {
    expect(rateLimitDelay(failure(403, {}, "Resource not accessible by integration"))).toBeNull();
    expect(rateLimitDelay(failure(500))).toBeNull();
    expect(rateLimitDelay(new Error("boom"))).toBeNull();
  });
});
