import { describe, expect, it } from "vitest";
import { deferCosmetic, requestBudget, RequestBudget, requestKind } from "../../../src/github/budget.ts";
import { ConditionalCache } from "../../../src/github/conditional.ts";
import { droverOctokit } from "../../../src/github/octokit.ts";
import { renderBudgets } from "../../../src/report/budget.ts";
import { GITHUB_API, useGitHubMock } from "../../helpers/github.ts";
import { commentReply, issueReply, labelsReply } from "../../helpers/github-replies.ts";
import { AUTHOR } from "../../helpers/payloads.ts";

const INSTALLATION = 77;
const T0 = Date.UTC(2026, 11, 5, 12, 0, 0);
const RESET = String(T0 / 1000 + 1800);

const headers = (values: Record<string, string> = {}) => ({ get: (name: string) => values[name] ?? null });
const rate = (remaining: number, limit = 5000, resource = "core") =>
  headers({
    "x-ratelimit-limit": String(limit),
    "x-ratelimit-remaining": String(remaining),
    "x-ratelimit-reset": RESET,
    "x-ratelimit-resource": resource,
  });
const read = {
  method: "GET",
  url: "https://api.github.com/repos/o/r/issues/1",
  status: 200,
  headers: headers(),
};
const comment = {
  method: "POST",
  url: "https://api.github.com/repos/o/r/issues/1/comments",
  status: 201,
  headers: headers(),
};

function logged() {
  const lines: { level: string; message: string; fields: object }[] = [];
  const line = (level: string) => (fields: object, message: string) => lines.push({ level, message, fields });
  return { lines, log: { info: line("info"), warn: line("warn") } };
}

describe("requestKind", () => {
  it("counts POST, PUT and PATCH as content, and a GraphQL mutation; not a DELETE or a repository's settings", () => {
    expect(requestKind("GET", "/repos/o/r/issues")).toBe("read");
    expect(requestKind("POST", "/repos/o/r/issues/1/comments")).toBe("content-write");
    expect(requestKind("PATCH", "/repos/o/r/issues/comments/9")).toBe("content-write");
    expect(requestKind("PUT", "/repos/o/r/pulls/3/merge")).toBe("content-write");
    expect(requestKind("DELETE", "/repos/o/r/issues/1/labels/drover%3Arunning")).toBe("write");
    expect(requestKind("PATCH", "/repos/o/r")).toBe("write");
    expect(requestKind("POST", "/graphql", '{"query":"query { viewer { login } }"}')).toBe("read");
    expect(requestKind("POST", "/graphql", '{"query":"mutation { enablePullRequestAutoMerge }"}')).toBe(
      "content-write",
    );
  });
});

describe("RequestBudget", () => {
  it("counts requests, writes, content writes and 304s per installation over the last hour", () => {
    const budget = new RequestBudget();
    budget.record(INSTALLATION, read, undefined, T0);
    budget.record(INSTALLATION, { ...read, status: 304 }, undefined, T0 + 1_000);
    budget.record(INSTALLATION, comment, undefined, T0 + 2_000);
    budget.record(
      INSTALLATION,
      { ...read, url: "/repos/o/r/issues/1/labels/x", method: "DELETE" },
      undefined,
      T0 + 3_000,
    );
    budget.record(8, comment, undefined, T0);
    // The installation's token, asked with the app's JWT, is the app's to count.
    budget.record(
      INSTALLATION,
      { ...comment, url: "https://api.github.com/app/installations/77/access_tokens" },
      undefined,
      T0,
    );

    expect(budget.budgetOf(INSTALLATION, T0 + 5_000)).toEqual({
      installationId: INSTALLATION,
      requests: 4,
      notModified: 1,
      writes: 2,
      contentWrites: 1,
      contentWritesLastMinute: 1,
      rate: null,
      processes: 1,
    });
    // A minute on, the comment is no longer in the last minute; an hour on, nothing is counted.
    expect(budget.budgetOf(INSTALLATION, T0 + 61_000)).toMatchObject({
      contentWrites: 1,
      contentWritesLastMinute: 0,
    });
    expect(budget.budgetOf(INSTALLATION, T0 + 3_601_000)).toMatchObject({ requests: 0, contentWrites: 0 });
    expect(budget.budgetOf(8, T0)).toMatchObject({ requests: 1, contentWrites: 1 });
  });

  it("keeps GitHub's latest word on the core limit, not the search or GraphQL one", () => {
    const budget = new RequestBudget();
    budget.record(INSTALLATION, { ...read, headers: rate(4200) }, undefined, T0);
    budget.record(INSTALLATION, { ...read, headers: rate(9, 30, "search") }, undefined, T0 + 1);

    expect(budget.budgetOf(INSTALLATION, T0).rate).toEqual({
      limit: 5000,
      remaining: 4200,
      resetAt: new Date(Number(RESET) * 1000),
    });
  });

  it("logs once when the remaining limit falls under 20%, and once when it recovers", () => {
    const budget = new RequestBudget();
    const { lines, log } = logged();
    for (const remaining of [1200, 999, 900, 800, 4999, 4998])
      budget.record(INSTALLATION, { ...read, headers: rate(remaining) }, log, T0);

    expect(
      lines.filter((l) => l.message !== "GitHub request budget").map((l) => [l.level, l.message]),
    ).toEqual([
      ["warn", "GitHub request budget low: cosmetic writes will wait under 10%"],
      ["info", "GitHub request budget recovered"],
    ]);
    expect(lines[0]).toMatchObject({
      message: "GitHub request budget",
      fields: { installationId: INSTALLATION },
    });
  });

  describe("deferCosmetic", () => {
    it("flips when the remaining primary limit falls under 10%, until the limit resets", () => {
      const budget = new RequestBudget();
      budget.record(INSTALLATION, { ...read, headers: rate(500) }, undefined, T0);
      expect(budget.deferCosmetic(INSTALLATION, T0)).toBe(false);

      budget.record(INSTALLATION, { ...read, headers: rate(499) }, undefined, T0);
      expect(budget.deferCosmetic(INSTALLATION, T0)).toBe(true);
      expect(budget.deferCosmetic(8, T0)).toBe(false);
      expect(budget.deferCosmetic(INSTALLATION, Number(RESET) * 1000 + 1)).toBe(false);
    });

    it("flips at 450 content writes in the last hour, and back as they age out", () => {
      const budget = new RequestBudget();
      // 449 writes spread over 45 minutes: under 64 in any minute.
      for (let i = 0; i < 449; i++) budget.record(INSTALLATION, comment, undefined, T0 + i * 6_000);
      const now = T0 + 449 * 6_000;
      expect(budget.deferCosmetic(INSTALLATION, now)).toBe(false);

      budget.record(INSTALLATION, comment, undefined, now);
      expect(budget.deferCosmetic(INSTALLATION, now)).toBe(true);
      expect(budget.deferCosmetic(INSTALLATION, T0 + 3_600_000 + 60_000)).toBe(false);
    });

    it("flips at 64 content writes in the last minute", () => {
      const budget = new RequestBudget();
      for (let i = 0; i < 63; i++) budget.record(INSTALLATION, comment, undefined, T0 + i * 100);
      expect(budget.deferCosmetic(INSTALLATION, T0 + 10_000)).toBe(false);

      budget.record(INSTALLATION, comment, undefined, T0 + 10_000);
      expect(budget.deferCosmetic(INSTALLATION, T0 + 10_000)).toBe(true);
      expect(budget.deferCosmetic(INSTALLATION, T0 + 75_000)).toBe(false);
    });

    it("adds what other processes counted for the installation", () => {
      const budget = new RequestBudget();
      for (let i = 0; i < 40; i++) budget.record(INSTALLATION, comment, undefined, T0);
      const other = {
        at: T0,
        requests: 30,
        notModified: 0,
        writes: 30,
        contentWrites: 30,
        contentWritesLastMinute: 30,
        rate: null,
      };
      budget.absorb(INSTALLATION, [other]);

      expect(budget.budgetOf(INSTALLATION, T0)).toMatchObject({ contentWritesLastMinute: 70, processes: 2 });
      expect(budget.deferCosmetic(INSTALLATION, T0)).toBe(true);
    });
  });
});

describe("a Drover client's requests in the budget", () => {
  const github = useGitHubMock();
  const Octokit = droverOctokit({ pace: false, retryAfterBaseMs: 10, cache: new ConditionalCache() });
  const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
  const REPO = { owner: "octo-org", repo: "widgets" };

  it("are counted as GitHub sees them, retries included, and answer deferCosmetic for the client", async () => {
    requestBudget.clear();
    const octokit = new Octokit({
      baseUrl: GITHUB_API,
      auth: { token: "ghs_test", installationId: INSTALLATION },
      log: quiet,
    });
    const limit = (remaining: number) => ({
      "x-ratelimit-limit": "5000",
      "x-ratelimit-remaining": String(remaining),
      "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + 1800),
      "x-ratelimit-resource": "core",
    });
    github
      .api()
      .get("/repos/octo-org/widgets/issues/7")
      .reply(200, issueReply({ number: 7, author: AUTHOR }), limit(1000))
      .post("/repos/octo-org/widgets/issues/7/labels")
      .reply(502, { message: "Server Error" })
      .post("/repos/octo-org/widgets/issues/7/labels")
      .reply(200, labelsReply(["drover:running"]), limit(999))
      .post("/repos/octo-org/widgets/issues/7/comments")
      .reply(201, commentReply({ id: 9, body: "status", issue: 7, by: AUTHOR }), limit(400));

    await octokit.rest.issues.get({ ...REPO, issue_number: 7 });
    expect(deferCosmetic(octokit)).toBe(false);
    await octokit.rest.issues.addLabels({ ...REPO, issue_number: 7, labels: ["drover:running"] });
    await octokit.rest.issues.createComment({ ...REPO, issue_number: 7, body: "status" });

    expect(requestBudget.budgetOf(INSTALLATION)).toMatchObject({
      requests: 4,
      writes: 3,
      contentWrites: 3,
      rate: { limit: 5000, remaining: 400 },
    });
    expect(deferCosmetic(octokit)).toBe(true);
    expect(deferCosmetic(INSTALLATION)).toBe(true);
    expect(deferCosmetic({})).toBe(false);
    requestBudget.clear();
  });
});

describe("renderBudgets", () => {
  it("shows each installation's hour: requests, 304s, content writes against 500 and 80, the limit left", () => {
    const now = new Date(T0);
    const text = renderBudgets(
      [
        {
          installationId: 77,
          requests: 812,
          notModified: 301,
          writes: 120,
          contentWrites: 118,
          contentWritesLastMinute: 4,
          rate: { limit: 5000, remaining: 4188, resetAt: new Date(T0 + 1_800_000) },
          processes: 2,
        },
      ],
      now,
    );

    expect(text).toBe(
      "GitHub budget (last hour, per installation):\n" +
        "  installation 77: 812 requests (301 not modified), 120 writes, 118/500 content writes (4/80 in the " +
        "last minute); 4188/5000 left (83%), resets 2026-12-05T12:30:00.000Z; 2 processes\n",
    );
    expect(renderBudgets([], now)).toBe("GitHub budget: no requests recorded in the last hour\n");
  });
});
