import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { personClient } from "../../../src/demo/maintainer.ts";
import { startSandbox } from "../../../src/sandbox/server.ts";
import { cloneRepo, startTestSandbox, statusOf, type TestSandbox } from "../../helpers/sandbox.ts";

/**
 * What GitHub's rate limits would see of a client: the sandbox records every request it serves (who,
 * which route, content-generating or not, 304 or not), answers with each caller's `x-ratelimit-*`
 * headers, honours conditional requests as GitHub does (a 304 is free), and lists issues updated since a
 * moment. One sandbox for the file, a fresh repository per test.
 */

type Repo = { owner: string; repo: string };

let t: TestSandbox;
let repoCount = 0;

beforeAll(async () => {
  t = await startTestSandbox();
});

afterAll(async () => {
  await t?.close();
});

async function freshRepo({ git = false } = {}): Promise<Repo> {
  repoCount += 1;
  return t.newRepo(`accounting-${repoCount}`, { autoInit: git });
}

const requestsSince = (from: number) => t.sandbox.requests.slice(from);

const limitOf = (headers: Headers) => ({
  limit: Number(headers.get("x-ratelimit-limit")),
  remaining: Number(headers.get("x-ratelimit-remaining")),
  used: Number(headers.get("x-ratelimit-used")),
  resource: headers.get("x-ratelimit-resource"),
  reset: Number(headers.get("x-ratelimit-reset")),
});

describe("the request log", () => {
  it("records each request with its route, caller and whether GitHub counts it as content", async () => {
    const repo = await freshRepo();
    const { data: issue } = await t.as("maintainer").rest.issues.create({ ...repo, title: "Counted" });
    const { client, token } = await t.installation();
    const from = t.sandbox.requests.length;
    await client.rest.issues.get({ ...repo, issue_number: issue.number });
    await client.rest.issues.addLabels({ ...repo, issue_number: issue.number, labels: ["drover"] });
    await client.rest.issues.createComment({ ...repo, issue_number: issue.number, body: "Hello" });
    await client.rest.issues.removeLabel({ ...repo, issue_number: issue.number, name: "drover" });
    expect(await statusOf(client.rest.issues.getParent({ ...repo, issue_number: issue.number }))).toBe(404);
    await t.call(token, "GET", "/repos/acme/no-such-repository/issues");

    const seen = requestsSince(from).map((r) => ({
      call: `${r.method} ${r.route} ${r.status}`,
      actor: r.actor,
      installationId: r.installationId,
      login: r.login,
      contentGenerating: r.contentGenerating,
      counted: r.counted,
    }));
    const bot = {
      actor: "installation",
      installationId: t.sandbox.installationId,
      login: `${t.sandbox.appSlug}[bot]`,
    };
    expect(seen).toEqual([
      {
        call: "GET /repos/{owner}/{repo}/issues/{issue_number} 200",
        ...bot,
        contentGenerating: false,
        counted: true,
      },
      {
        call: "POST /repos/{owner}/{repo}/issues/{issue_number}/labels 200",
        ...bot,
        contentGenerating: true,
        counted: true,
      },
      {
        call: "POST /repos/{owner}/{repo}/issues/{issue_number}/comments 201",
        ...bot,
        contentGenerating: true,
        counted: true,
      },
      {
        call: "DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name} 200",
        ...bot,
        contentGenerating: false,
        counted: true,
      },
      // A 404 costs a request like any other.
      {
        call: "GET /repos/{owner}/{repo}/issues/{issue_number}/parent 404",
        ...bot,
        contentGenerating: false,
        counted: true,
      },
      { call: "GET /repos/{owner}/{repo}/issues 404", ...bot, contentGenerating: false, counted: true },
    ]);
  });

  it("records the app's token requests as the app's, and not as content", async () => {
    const from = t.sandbox.requests.length;
    await t.installation();
    const [made] = requestsSince(from);
    expect(made).toMatchObject({
      route: "/app/installations/{installation_id}/access_tokens",
      actor: "app",
      installationId: null,
      contentGenerating: false,
      counted: true,
    });
  });

  it("records git fetches and pushes, never counted against the API limits", async () => {
    const repo = await freshRepo({ git: true });
    const from = t.sandbox.requests.length;
    const work = await cloneRepo(t.sandbox, repo, t.sandbox.token("developer"));
    try {
      await work.commit({ "a.txt": "a\n" }, "Add a");
      await work.git("push", "--quiet", "origin", "HEAD:main");
    } finally {
      await work.remove();
    }
    const git = requestsSince(from).filter((r) => r.kind === "git");
    expect(git.map((r) => r.route)).toEqual(
      expect.arrayContaining(["/info/refs?service=git-upload-pack", "/git-upload-pack", "/git-receive-pack"]),
    );
    expect(git.every((r) => !r.counted && !r.contentGenerating && r.login === "developer")).toBe(true);
  });
});

describe("rate-limit headers", () => {
  it("count each caller's requests apart, per hour, and leave a 304 out", async () => {
    const repo = await freshRepo();
    const reader = t.sandbox.token("reader");
    const path = `/repos/${repo.owner}/${repo.repo}/issues`;
    const first = limitOf((await t.call(reader, "GET", path)).headers);
    expect(first).toMatchObject({ limit: 5000, resource: "core" });
    expect(first.remaining).toBe(first.limit - first.used);
    expect(first.reset * 1000).toBeGreaterThan(Date.now() + 59 * 60_000);
    expect(first.reset * 1000).toBeLessThanOrEqual(Date.now() + 60 * 60_000);

    const second = await t.call(reader, "GET", path);
    expect(limitOf(second.headers)).toMatchObject({
      used: first.used + 1,
      remaining: first.remaining - 1,
      reset: first.reset,
    });

    // Someone else's requests do not count against the reader's.
    await t.call(t.sandbox.token("developer"), "GET", path);
    const notModified = await t.call(reader, "GET", path, undefined, {
      "if-none-match": second.headers.get("etag")!,
    });
    expect(notModified.status).toBe(304);
    expect(notModified.body).toBe("");
    expect(limitOf(notModified.headers)).toMatchObject({
      used: first.used + 1,
      remaining: first.remaining - 1,
    });
    const third = await t.call(reader, "GET", path);
    expect(limitOf(third.headers).used).toBe(first.used + 2);
  });

  it("tell the sandbox's owner what an installation has left", async () => {
    const repo = await freshRepo();
    const { client } = await t.installation();
    const before = t.sandbox.rateLimit(t.sandbox.installationId);
    const answer = await client.rest.issues.listForRepo({ ...repo });
    const after = t.sandbox.rateLimit(t.sandbox.installationId);
    expect(after.used).toBe(before.used + 1);
    expect(Number(answer.headers["x-ratelimit-remaining"])).toBe(after.remaining);
  });

  it("refuse a caller past its limit when asked to enforce it, as GitHub does", async () => {
    const sandbox = await startSandbox({ webhookUrl: null, rateLimits: { user: 2, enforce: true } });
    try {
      const reader = personClient(sandbox.urls.api, sandbox.token("reader"));
      // Any answer counts, a 404 too.
      const repo = { owner: sandbox.organization, repo: "nothing-here" };
      expect(await statusOf(reader.rest.repos.get(repo))).toBe(404);
      expect(await statusOf(reader.rest.repos.get(repo))).toBe(404);
      const refused = await reader.rest.repos.get(repo).catch((e: unknown) => e);
      expect(refused).toMatchObject({
        status: 403,
        response: { headers: { "x-ratelimit-remaining": "0", "x-ratelimit-used": "2" } },
      });
      expect((refused as { message: string }).message).toMatch(/API rate limit exceeded for user ID \d+/);
      // Another person has their own hour.
      const other = personClient(sandbox.urls.api, sandbox.token("developer"));
      expect(await statusOf(other.rest.repos.get(repo))).toBe(404);
    } finally {
      await sandbox.close();
    }
  });
});

describe("conditional requests", () => {
  it("compare ETags weakly, in a list or as *, and answer 200 with a new tag once something changed", async () => {
    const repo = await freshRepo();
    const { data: issue } = await t.as("maintainer").rest.issues.create({ ...repo, title: "Tagged" });
    const token = t.sandbox.token("reader");
    const path = `/repos/${repo.owner}/${repo.repo}/issues/${issue.number}`;
    const first = await t.call(token, "GET", path);
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^W\/"[0-9a-f]+"$/);
    const strong = etag.slice(2);
    for (const header of [etag, strong, `"other", ${etag}`, "*"]) {
      const again = await t.call(token, "GET", path, undefined, { "if-none-match": header });
      expect(again.status, header).toBe(304);
      expect(again.headers.get("etag")).toBe(etag);
    }
    expect((await t.call(token, "GET", path, undefined, { "if-none-match": '"other"' })).status).toBe(200);

    const from = t.sandbox.requests.length;
    await t.call(token, "GET", path, undefined, { "if-none-match": etag });
    expect(requestsSince(from)).toEqual([
      expect.objectContaining({ status: 304, conditional: true, notModified: true, counted: false }),
    ]);

    await t.as("maintainer").rest.issues.update({ ...repo, issue_number: issue.number, title: "Retitled" });
    const changed = await t.call(token, "GET", path, undefined, { "if-none-match": etag });
    expect(changed.status).toBe(200);
    expect((changed.body as { title: string }).title).toBe("Retitled");
    expect(changed.headers.get("etag")).not.toBe(etag);
  });

  it("give a raw file a strong ETag", async () => {
    const repo = await freshRepo({ git: true });
    const token = t.sandbox.token("reader");
    const path = `/repos/${repo.owner}/${repo.repo}/contents/README.md`;
    const raw = { accept: "application/vnd.github.raw+json" };
    const first = await t.call(token, "GET", path, undefined, raw);
    expect(first.status).toBe(200);
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^"[0-9a-f]+"$/);
    expect((await t.call(token, "GET", path, undefined, { ...raw, "if-none-match": etag })).status).toBe(304);
  });
});

describe("since= on issue listings", () => {
  it("lists only issues updated at or after the moment, to the second", async () => {
    const repo = await freshRepo();
    const maintainer = t.as("maintainer");
    const { data: old } = await maintainer.rest.issues.create({ ...repo, title: "Old" });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const mark = new Date();
    const { data: made } = await maintainer.rest.issues.create({ ...repo, title: "New" });
    const list = async (since: string) =>
      (
        await maintainer.rest.issues.listForRepo({ ...repo, since, sort: "updated", direction: "asc" })
      ).data.map((i) => i.number);
    expect(await list(mark.toISOString())).toEqual([made.number]);
    // A later change to the old issue brings it back.
    await maintainer.rest.issues.addLabels({ ...repo, issue_number: old.number, labels: ["later"] });
    expect((await list(mark.toISOString())).sort()).toEqual([old.number, made.number]);
    // Whole seconds: an update in the same second as `since` is listed.
    const { data: last } = await maintainer.rest.issues.get({ ...repo, issue_number: old.number });
    expect(await list(last.updated_at.replace("Z", ".999Z"))).toContain(old.number);
    expect(await list(new Date(Date.parse(last.updated_at) + 60_000).toISOString())).toEqual([]);
  });

  it("refuses a since that is not a timestamp (422)", async () => {
    const repo = await freshRepo();
    const answer = await t.call(
      t.sandbox.token("reader"),
      "GET",
      `/repos/${repo.owner}/${repo.repo}/issues?since=yesterday`,
    );
    expect(answer.status).toBe(422);
  });
});
