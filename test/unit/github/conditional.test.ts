import { describe, expect, it } from "vitest";
import { RequestBudget } from "../../../src/github/budget.ts";
import { ConditionalCache } from "../../../src/github/conditional.ts";
import { droverOctokit } from "../../../src/github/octokit.ts";
import { GITHUB_API, useGitHubMock } from "../../helpers/github.ts";
import { issueReply } from "../../helpers/github-replies.ts";
import { AUTHOR, OCTO_REPO } from "../../helpers/payloads.ts";

const REPO = { owner: "octo-org", repo: "widgets" };
const ISSUE = "/repos/octo-org/widgets/issues/7";
const issue = issueReply({ number: 7, title: "Add a widget", author: AUTHOR });
const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

type Asked = { req: { headers?: Record<string, unknown> } };

/** A Drover client for one installation, with a cache and a budget of its own. */
function client(installationId = OCTO_REPO.installationId) {
  const budget = new RequestBudget();
  const cache = new ConditionalCache();
  const Octokit = droverOctokit({ pace: false, retryAfterBaseMs: 10, budget, cache });
  const make = (id: number) =>
    new Octokit({ baseUrl: GITHUB_API, auth: { token: "ghs_test", installationId: id }, log: quiet });
  return { octokit: make(installationId), make, budget, cache };
}

/** Replies with `reply`, noting the If-None-Match each request carried ("none" when it carried none). */
function noting(asked: string[], reply: [number, unknown, Record<string, string>]) {
  return function (this: Asked): [number, unknown, Record<string, string>] {
    asked.push(String(this.req.headers?.["if-none-match"] ?? "none"));
    return reply;
  };
}

describe("conditional requests", () => {
  const github = useGitHubMock();

  it("a repeated GET asks only if changed, and a 304 gives the caller the issue it got before", async () => {
    const { octokit, budget } = client();
    const asked: string[] = [];
    github
      .api()
      .get(ISSUE)
      .reply(noting(asked, [200, issue, { etag: '"v1"' }]))
      .get(ISSUE)
      .reply(
        noting(asked, [
          304,
          "",
          {
            etag: '"v1"',
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": "4990",
            "x-ratelimit-reset": "4000000000",
          },
        ]),
      );

    const first = await octokit.rest.issues.get({ ...REPO, issue_number: 7 });

    // A caller changing what it got does not change what the next caller gets.
    first.data.title = "changed by the caller";
    const second = await octokit.rest.issues.get({ ...REPO, issue_number: 7 });

    expect(asked).toEqual(["none", '"v1"']);
    expect(second.status).toBe(200);
    expect(second.data).toEqual(issue);
    expect(second.headers["x-ratelimit-remaining"]).toBe("4990");
    expect(budget.budgetOf(OCTO_REPO.installationId)).toMatchObject({
      requests: 2,
      notModified: 1,
      writes: 0,
    });
  });

  it("a changed resource is read in full, and its new ETag is the one asked next", async () => {
    const { octokit } = client();
    const asked: string[] = [];
    const renamed = { ...issue, title: "Add two widgets" };
    github
      .api()
      .get(ISSUE)
      .reply(noting(asked, [200, issue, { etag: '"v1"' }]))
      .get(ISSUE)
      .reply(noting(asked, [200, renamed, { etag: '"v2"' }]))
      .get(ISSUE)
      .reply(noting(asked, [304, "", { etag: '"v2"' }]));

    await octokit.rest.issues.get({ ...REPO, issue_number: 7 });
    const second = await octokit.rest.issues.get({ ...REPO, issue_number: 7 });
    const third = await octokit.rest.issues.get({ ...REPO, issue_number: 7 });

    expect(asked).toEqual(["none", '"v1"', '"v2"']);
    expect(second.data.title).toBe("Add two widgets");
    expect(third.data.title).toBe("Add two widgets");
  });

  it("never answers one installation from what another read", async () => {
    const { make } = client();
    const asked: string[] = [];
    github
      .api()
      .get(ISSUE)
      .times(2)
      .reply(noting(asked, [200, issue, { etag: '"v1"' }]));

    await make(77).rest.issues.get({ ...REPO, issue_number: 7 });
    await make(78).rest.issues.get({ ...REPO, issue_number: 7 });

    expect(asked).toEqual(["none", "none"]);
  });

  it("keeps the answer across clients of the same installation (each job gets a new one)", async () => {
    const { make } = client();
    const asked: string[] = [];
    github
      .api()
      .get(ISSUE)
      .reply(noting(asked, [200, issue, { etag: '"v1"' }]))
      .get(ISSUE)
      .reply(noting(asked, [304, "", { etag: '"v1"' }]));

    await make(77).rest.issues.get({ ...REPO, issue_number: 7 });
    const again = await make(77).rest.issues.get({ ...REPO, issue_number: 7 });

    expect(asked).toEqual(["none", '"v1"']);
    expect(again.data).toEqual(issue);
  });

  it("reads .github/drover.yml through the config plugin once in full, then as 304s", async () => {
    const { octokit } = client();
    const asked: string[] = [];
    const raw = { "content-type": "application/vnd.github.raw; charset=utf-8", etag: '"c1"' };
    github
      .api()
      .get("/repos/octo-org/widgets/contents/.github%2Fdrover.yml")
      .reply(noting(asked, [200, "max_workers: 3\n", raw]))
      .get("/repos/octo-org/widgets/contents/.github%2Fdrover.yml")
      .times(2)
      .reply(noting(asked, [304, "", { etag: '"c1"' }]));

    const configs = [];
    for (let i = 0; i < 3; i++)
      configs.push((await octokit.config.get({ ...REPO, path: ".github/drover.yml" })).config);

    expect(asked).toEqual(["none", '"c1"', '"c1"']);
    expect(configs).toEqual([{ max_workers: 3 }, { max_workers: 3 }, { max_workers: 3 }]);
  });

  it("leaves a GET that asks its own question alone: its 304 is the caller's", async () => {
    const { octokit } = client();
    const asked: string[] = [];
    github
      .api()
      .get(ISSUE)
      .reply(noting(asked, [200, issue, { etag: '"v1"' }]))
      .get(ISSUE)
      .reply(noting(asked, [304, "", { etag: '"v1"' }]));

    await octokit.rest.issues.get({ ...REPO, issue_number: 7 });
    const own = octokit.rest.issues.get({ ...REPO, issue_number: 7, headers: { "If-None-Match": '"v1"' } });

    await expect(own).rejects.toMatchObject({ status: 304 });
    expect(asked).toEqual(["none", '"v1"']);
  });

  it("keeps nothing without an ETag, and never a write's answer", async () => {
    const { octokit, cache } = client();
    const asked: string[] = [];
    github
      .api()
      .get(ISSUE)
      .times(2)
      .reply(noting(asked, [200, issue, {}]))
      .patch(ISSUE)
      .reply(200, issue, { etag: '"w1"' });

    await octokit.rest.issues.get({ ...REPO, issue_number: 7 });
    await octokit.rest.issues.update({ ...REPO, issue_number: 7, title: "Add a widget" });
    await octokit.rest.issues.get({ ...REPO, issue_number: 7 });

    expect(asked).toEqual(["none", "none"]);
    expect(cache.size).toBe(0);
  });
});

describe("ConditionalCache", () => {
  const answer = (etag: string, bytes: number) => ({
    etag,
    url: "u",
    headers: {},
    body: "x".repeat(bytes),
  });

  it("drops the least recently used answer past its number of entries", () => {
    const cache = new ConditionalCache({ maxEntries: 2 });
    cache.set("a", answer("1", 1));
    cache.set("b", answer("2", 1));
    cache.get("a");
    cache.set("c", answer("3", 1));

    expect([cache.get("a")?.etag, cache.get("b")?.etag, cache.get("c")?.etag]).toEqual(["1", undefined, "3"]);
  });

  it("keeps its bodies under its size, and does not keep one too big to share", () => {
    const cache = new ConditionalCache({ maxBytes: 100, maxEntryBytes: 60 });
    cache.set("a", answer("1", 40));
    cache.set("b", answer("2", 40));
    cache.set("c", answer("3", 40));
    cache.set("huge", answer("4", 61));

    expect([cache.get("a"), cache.get("huge")]).toEqual([undefined, undefined]);
    expect(cache.size).toBe(2);
    expect(cache.bytes).toBe(80);
  });
});
