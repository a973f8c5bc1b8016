import { generateKeyPairSync, sign } from "node:crypto";
import { createAppAuth } from "@octokit/auth-app";
import { Webhooks } from "@octokit/webhooks";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { personClient, type Person } from "../../../src/demo/maintainer.ts";
import {
  cloneRepo,
  hookNames,
  startTestSandbox,
  statusOf,
  type Clone,
  type Received,
  type TestSandbox,
} from "../../helpers/sandbox.ts";

/**
 * What someone using the sandbox in place of GitHub notices: who may do what, signed webhooks, git over
 * HTTP, real merges, conditional requests, app authentication, issue links, pagination, file contents
 * and validation errors. One sandbox for the file, a fresh repository per test.
 */

type Repo = { owner: string; repo: string };

let t: TestSandbox;
let repoCount = 0;
const clones: Clone[] = [];

beforeAll(async () => {
  t = await startTestSandbox();
});

afterEach(async () => {
  await Promise.all(clones.splice(0).map((clone) => clone.remove()));
  vi.useRealTimers();
});

afterAll(async () => {
  await t?.close();
});

const as = (login: string): Person => t.as(login);

/** A new repository for one test; `git` gives it a first commit on main to clone and branch from. */
async function freshRepo({ git = false } = {}): Promise<Repo> {
  repoCount += 1;
  return t.newRepo(`behaviour-${repoCount}`, { autoInit: git });
}

async function clone(repo: Repo, login = "developer"): Promise<Clone> {
  const made = await cloneRepo(t.sandbox, repo, t.sandbox.token(login));
  clones.push(made);
  return made;
}

/** Makes `branch` from main with one commit of `files`, without pushing it. */
async function branch(work: Clone, name: string, files: Record<string, string>): Promise<string> {
  await work.git("checkout", "--quiet", "-B", name, "origin/main");
  return work.commit(files, `Change ${Object.keys(files).join(", ")}`);
}

/** Pushes a new branch with one commit of `files` from `work`, starting at main. */
async function pushBranch(work: Clone, name: string, files: Record<string, string>): Promise<string> {
  const sha = await branch(work, name, files);
  await work.git("push", "--quiet", "origin", name);
  return sha;
}

/** Where the sandbox's `main` is now. */
async function mainSha(work: Clone): Promise<string> {
  return (await work.git("ls-remote", "origin", "refs/heads/main")).split("\t")[0] ?? "";
}

describe("permissions", () => {
  it("hides a private repository from an outsider: 404 on REST, and git refuses to clone", async () => {
    const repo = await freshRepo({ git: true });
    const outsider = as("outsider");
    expect(await statusOf(outsider.rest.repos.get(repo))).toBe(404);
    expect(await statusOf(outsider.rest.issues.listForRepo(repo))).toBe(404);
    expect(await statusOf(outsider.rest.issues.create({ ...repo, title: "Let me in" }))).toBe(404);
    await expect(clone(repo, "outsider")).rejects.toThrow();
    expect(await statusOf(outsider.rest.repos.get({ owner: "acme", repo: "does-not-exist" }))).toBe(404);
  });

  it("lets a reader open issues and comment, but not label (403), link, write files or push", async () => {
    const repo = await freshRepo({ git: true });
    const reader = as("reader");
    const { data: issue } = await reader.rest.issues.create({
      ...repo,
      title: "Found a bug",
      labels: ["bug"],
    });
    // As on GitHub, labels from someone who may not triage are dropped without an error.
    expect(issue.labels).toEqual([]);
    expect(issue.user?.login).toBe("reader");
    const at = { ...repo, issue_number: issue.number };
    await reader.rest.issues.createComment({ ...at, body: "Still there" });
    expect(await statusOf(reader.rest.issues.addLabels({ ...at, labels: ["bug"] }))).toBe(403);
    const { data: other } = await as("maintainer").rest.issues.create({ ...repo, title: "Other" });
    expect(await statusOf(reader.rest.issues.addBlockedByDependency({ ...at, issue_id: other.id }))).toBe(
      403,
    );
    expect(
      await statusOf(
        reader.rest.repos.createOrUpdateFileContents({
          ...repo,
          path: "x.md",
          message: "x",
          content: Buffer.from("x").toString("base64"),
        }),
      ),
    ).toBe(403);

    const work = await clone(repo, "reader");
    const before = await mainSha(work);
    await work.commit({ "reader.md": "mine\n" }, "Reader's change");
    await expect(work.git("push", "--quiet", "origin", "HEAD:main")).rejects.toThrow(/403|denied|access/i);
    expect(await mainSha(work)).toBe(before);
  });

  it("lets a triager label and link issues, but not write files", async () => {
    const repo = await freshRepo();
    const maintainer = as("maintainer");
    const triager = as("triager");
    const { data: blocked } = await maintainer.rest.issues.create({ ...repo, title: "Blocked" });
    const { data: blocker } = await maintainer.rest.issues.create({ ...repo, title: "Blocker" });
    const at = { ...repo, issue_number: blocked.number };
    const { data: labels } = await triager.rest.issues.addLabels({ ...at, labels: ["drover"] });
    expect(labels.map((l) => l.name)).toEqual(["drover"]);
    await triager.rest.issues.addBlockedByDependency({ ...at, issue_id: blocker.id });
    await triager.rest.issues.addSubIssue({
      ...repo,
      issue_number: blocker.number,
      sub_issue_id: blocked.id,
    });
    expect(
      await statusOf(
        triager.rest.repos.createOrUpdateFileContents({
          ...repo,
          path: "x.md",
          message: "x",
          content: Buffer.from("x").toString("base64"),
        }),
      ),
    ).toBe(403);
  });

  it("lets a developer push over git and merge", async () => {
    const repo = await freshRepo({ git: true });
    const work = await clone(repo);
    await pushBranch(work, "feature", { "feature.md": "new\n" });
    const developer = as("developer");
    const { data: pull } = await developer.rest.pulls.create({
      ...repo,
      title: "Feature",
      head: "feature",
      base: "main",
    });
    // GitHub counts open pull requests among a repository's open issues.
    expect((await developer.rest.repos.get(repo)).data.open_issues_count).toBe(1);
    const { data: merged } = await developer.rest.pulls.merge({ ...repo, pull_number: pull.number });
    expect(merged.merged).toBe(true);
    expect((await developer.rest.repos.get(repo)).data.open_issues_count).toBe(0);
  });

  it("reports each person's permission as GitHub does (triage reads as read, role_name keeps it)", async () => {
    const repo = await freshRepo();
    const maintainer = as("maintainer");
    const levels: Record<string, [string, string]> = {};
    for (const username of ["maintainer", "developer", "triager", "reader", "outsider"]) {
      const { data } = await maintainer.rest.repos.getCollaboratorPermissionLevel({ ...repo, username });
      levels[username] = [data.permission, data.role_name];
    }
    expect(levels).toEqual({
      maintainer: ["admin", "admin"],
      developer: ["write", "write"],
      triager: ["read", "triage"],
      reader: ["read", "read"],
      outsider: ["none", "none"],
    });
    const { data } = await as("reader").rest.repos.get(repo);
    expect(data.permissions).toEqual({
      admin: false,
      maintain: false,
      push: false,
      triage: false,
      pull: true,
    });
  });
});

describe("webhooks", () => {
  it("are signed with the secret and carry the event, a delivery id and the installation", async () => {
    const repo = await freshRepo();
    const from = await t.mark();
    await as("maintainer").rest.issues.create({ ...repo, title: "Signed" });
    const [opened] = await t.hooksFor(repo, from);
    if (!opened) throw new Error("no webhook received");
    expect(opened.event).toBe("issues");
    expect(opened.headers["x-github-event"]).toBe("issues");
    expect(opened.headers["x-github-delivery"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(opened.headers["x-github-hook-installation-target-type"]).toBe("integration");
    expect(opened.headers["content-type"]).toBe("application/json");
    expect(opened.payload.installation).toMatchObject({ id: t.sandbox.installationId });

    const signature = String(opened.headers["x-hub-signature-256"]);
    expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(await new Webhooks({ secret: t.sandbox.webhookSecret }).verify(opened.raw, signature)).toBe(true);
    expect(await new Webhooks({ secret: "not the secret" }).verify(opened.raw, signature)).toBe(false);
    const tampered = opened.raw.replace("Signed", "Forged");
    expect(await new Webhooks({ secret: t.sandbox.webhookSecret }).verify(tampered, signature)).toBe(false);
  });

  it("announce an issue created with labels as opened (labels on it), then labeled for each", async () => {
    const repo = await freshRepo();
    const from = await t.mark();
    await as("triager").rest.issues.create({ ...repo, title: "Labelled", labels: ["drover", "bug"] });
    const hooks = await t.hooksFor(repo, from);
    expect(hookNames(hooks)).toEqual(["issues.opened", "issues.labeled", "issues.labeled"]);
    const labelsOf = (hook: Received) => (hook.payload.issue as { labels: { name: string }[] }).labels;
    expect(labelsOf(hooks[0]!).map((l) => l.name)).toEqual(["drover", "bug"]);
    expect(hooks.slice(1).map((h) => (h.payload.label as { name: string }).name)).toEqual(["drover", "bug"]);
  });

  it("gives each delivery its own id, and a redelivery the same id again", async () => {
    const repo = await freshRepo();
    const from = await t.mark();
    const maintainer = as("maintainer");
    const { data: issue } = await maintainer.rest.issues.create({ ...repo, title: "One" });
    await maintainer.rest.issues.createComment({ ...repo, issue_number: issue.number, body: "Two" });
    const [first, second] = await t.hooksFor(repo, from);
    expect(first?.id).not.toBe(second?.id);
    t.sandbox.redeliver(first!.id);
    const again = await t.hooksFor(repo, from + 2);
    expect(again.map((d) => d.id)).toEqual([first!.id]);
    expect(again[0]?.raw).toBe(first?.raw);
  });
});

describe("git over HTTP", () => {
  it("clones, and a push moves the branch and sends push and pull_request.synchronize", async () => {
    const repo = await freshRepo({ git: true });
    const work = await clone(repo);
    const first = await pushBranch(work, "feature", { "src/a.ts": "export const a = 1;\n" });
    const developer = as("developer");
    const { data: pull } = await developer.rest.pulls.create({
      ...repo,
      title: "A",
      head: "feature",
      base: "main",
    });
    expect(pull.head.sha).toBe(first);
    expect(pull.commits).toBe(1);

    const from = await t.mark();
    const second = await work.commit({ "src/b.ts": "export const b = 2;\n" }, "Add b");
    await work.git("push", "--quiet", "origin", "feature");
    await t.delivery((d) => d.action === "synchronize", from);
    const hooks = await t.hooksFor(repo, from);
    expect(hookNames(hooks)).toEqual(["push", "pull_request.synchronize"]);
    const [push, sync] = hooks as [Received, Received];
    expect(push.payload).toMatchObject({
      ref: "refs/heads/feature",
      before: first,
      after: second,
      created: false,
      deleted: false,
      pusher: { name: "developer" },
      sender: { login: "developer" },
      head_commit: { id: second, message: "Add b", added: ["src/b.ts"] },
    });
    expect((push.payload.commits as unknown[]).length).toBe(1);
    expect(sync.payload).toMatchObject({
      number: pull.number,
      before: first,
      after: second,
      pull_request: { head: { sha: second }, commits: 2 },
    });
    const { data: after } = await developer.rest.pulls.get({ ...repo, pull_number: pull.number });
    expect(after.head.sha).toBe(second);
    expect(after.changed_files).toBe(2);
  });

  it("announces a new branch and a deleted one", async () => {
    const repo = await freshRepo({ git: true });
    const work = await clone(repo);
    const from = await t.mark();
    const sha = await pushBranch(work, "topic", { "t.md": "t\n" });
    await work.git("push", "--quiet", "origin", "--delete", "topic");
    await t.delivery((d) => d.payload.deleted === true, from);
    const [created, deleted] = await t.hooksFor(repo, from);
    expect(created?.payload).toMatchObject({ ref: "refs/heads/topic", created: true, after: sha });
    expect(deleted?.payload).toMatchObject({
      ref: "refs/heads/topic",
      deleted: true,
      before: sha,
      after: "0".repeat(40),
      head_commit: null,
    });
  });

  it("takes an installation token (x-access-token) and pushes as the app's bot", async () => {
    const repo = await freshRepo({ git: true });
    const { token } = await t.installation();
    const work = await cloneRepo(t.sandbox, repo, token);
    clones.push(work);
    const from = await t.mark();
    await pushBranch(work, "drover/1", { "bot.md": "bot\n" });
    await t.delivery((d) => d.event === "push", from);
    const [push] = await t.hooksFor(repo, from);
    expect(push?.payload).toMatchObject({ sender: { login: "drover-sandbox[bot]", type: "Bot" } });
  });

  it("asks for credentials (401) when none are given", async () => {
    const repo = await freshRepo();
    const response = await fetch(
      `${t.sandbox.urls.web}/${repo.owner}/${repo.repo}.git/info/refs?service=git-upload-pack`,
    );
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Basic/);
  });
});

describe("merging", () => {
  it("makes a two-parent merge commit on main, sends closed (merged) and push, and closes the issue it names", async () => {
    const repo = await freshRepo({ git: true });
    const maintainer = as("maintainer");
    const { data: issue } = await as("reader").rest.issues.create({ ...repo, title: "Please add c" });
    const work = await clone(repo);
    const before = await work.git("rev-parse", "origin/main");
    const head = await pushBranch(work, "add-c", { "c.md": "c\n" });
    const { data: pull } = await as("developer").rest.pulls.create({
      ...repo,
      title: "Add c",
      head: "add-c",
      base: "main",
      body: `Adds c.\n\nCloses #${issue.number}`,
    });
    const from = await t.mark();
    const { data: merge } = await maintainer.rest.pulls.merge({
      ...repo,
      pull_number: pull.number,
      sha: head,
    });

    await work.git("fetch", "--quiet", "origin");
    expect(await work.git("rev-parse", "origin/main")).toBe(merge.sha);
    const parents = (await work.git("rev-list", "--parents", "-n", "1", merge.sha)).split(" ").slice(1);
    expect(parents).toEqual([before, head]);
    expect(await work.git("show", "-s", "--format=%s", merge.sha)).toBe(
      `Merge pull request #${pull.number} from acme/add-c`,
    );

    const hooks = await t.hooksFor(repo, from);
    expect(hookNames(hooks)).toEqual(["pull_request.closed", "push", "issues.closed"]);
    const [closed, push, issueClosed] = hooks as [Received, Received, Received];
    expect(closed.payload).toMatchObject({
      number: pull.number,
      pull_request: { merged: true, merge_commit_sha: merge.sha, merged_by: { login: "maintainer" } },
    });
    expect(push.payload).toMatchObject({ ref: "refs/heads/main", before, after: merge.sha });
    expect(issueClosed.payload).toMatchObject({
      issue: { number: issue.number, state: "closed", state_reason: "completed" },
      sender: { login: "maintainer" },
    });
    const { data: after } = await maintainer.rest.issues.get({ ...repo, issue_number: issue.number });
    expect(after).toMatchObject({
      state: "closed",
      state_reason: "completed",
      closed_by: { login: "maintainer" },
    });
    const { data: merged } = await maintainer.rest.pulls.get({ ...repo, pull_number: pull.number });
    expect(merged).toMatchObject({ state: "closed", merged: true, merge_commit_sha: merge.sha });
  });

  it("squashes into one commit with only main as parent", async () => {
    const repo = await freshRepo({ git: true });
    const work = await clone(repo);
    const before = await work.git("rev-parse", "origin/main");
    await pushBranch(work, "squash-me", { "s.md": "s\n" });
    const { data: pull } = await as("developer").rest.pulls.create({
      ...repo,
      title: "Squash me",
      head: "squash-me",
      base: "main",
    });
    const { data } = await as("maintainer").rest.pulls.merge({
      ...repo,
      pull_number: pull.number,
      merge_method: "squash",
    });
    await work.git("fetch", "--quiet", "origin");
    const parents = (await work.git("rev-list", "--parents", "-n", "1", data.sha)).split(" ").slice(1);
    expect(parents).toEqual([before]);
  });

  it("refuses a conflicting pull request (405) and leaves main where it was", async () => {
    const repo = await freshRepo({ git: true });
    const work = await clone(repo);
    await branch(work, "left", { "README.md": "left\n" });
    await branch(work, "right", { "README.md": "right\n" });
    await work.git("push", "--quiet", "origin", "left", "right");
    const developer = as("developer");
    const maintainer = as("maintainer");
    const open = (head: string) =>
      developer.rest.pulls.create({ ...repo, title: head, head, base: "main" }).then((r) => r.data);
    const left = await open("left");
    const right = await open("right");
    // As on GitHub, mergeability is worked out when the pull request is first asked for by number.
    expect(right).toMatchObject({ mergeable: null, mergeable_state: "unknown" });
    const { data: before } = await maintainer.rest.pulls.get({ ...repo, pull_number: right.number });
    expect(before).toMatchObject({ mergeable: true, mergeable_state: "blocked" });
    await maintainer.rest.pulls.merge({ ...repo, pull_number: left.number });
    const main = await mainSha(work);

    // A list never says (GitHub's pull-request-simple has no mergeability): only asking for it does.
    const { data: listed } = await maintainer.rest.pulls.list({ ...repo, state: "open" });
    const inList = listed.find((p) => p.number === right.number);
    expect(inList).toBeDefined();
    expect(inList).not.toHaveProperty("mergeable");
    expect(inList).not.toHaveProperty("mergeable_state");
    const { data: now } = await maintainer.rest.pulls.get({ ...repo, pull_number: right.number });
    expect(now).toMatchObject({ mergeable: false, mergeable_state: "dirty" });
    const from = await t.mark();
    const refused = await t.call(
      t.sandbox.token("maintainer"),
      "PUT",
      `/repos/${repo.owner}/${repo.repo}/pulls/${right.number}/merge`,
      {},
    );
    expect(refused.status).toBe(405);
    expect((refused.body as { message: string }).message).toMatch(/not mergeable/);
    expect(await mainSha(work)).toBe(main);
    expect(await t.hooksFor(repo, from)).toEqual([]);
  });
});

describe("REST", () => {
  it("answers a conditional request with 304 while nothing changed", async () => {
    const repo = await freshRepo();
    const token = t.sandbox.token("reader");
    const path = `/repos/${repo.owner}/${repo.repo}/issues`;
    const first = await t.call(token, "GET", path);
    const etag = first.headers.get("etag");
    expect(etag).toMatch(/^W\/"/);
    const again = await t.call(token, "GET", path, undefined, { "if-none-match": etag! });
    expect(again.status).toBe(304);
    await as("reader").rest.issues.create({ ...repo, title: "A change" });
    const changed = await t.call(token, "GET", path, undefined, { "if-none-match": etag! });
    expect(changed.status).toBe(200);
    expect(changed.headers.get("etag")).not.toBe(etag);
  });

  it("refuses an app JWT signed with another key (401), and takes one signed with the app's", async () => {
    const { privateKey } = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      privateKeyEncoding: { type: "pkcs1", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    const forged = await createAppAuth({ appId: t.sandbox.appId, privateKey })({ type: "app" });
    const forger = personClient(t.api, forged.token);
    expect(await statusOf(forger.rest.apps.getAuthenticated())).toBe(401);
    expect(
      await statusOf(
        forger.rest.apps.createInstallationAccessToken({ installation_id: t.sandbox.installationId }),
      ),
    ).toBe(401);
    const { data } = await (await t.app()).rest.apps.getAuthenticated();
    expect(data?.slug).toBe(t.sandbox.appSlug);
  });

  it("refuses an app JWT that has expired, was issued in the future, lives too long or names another app", async () => {
    const now = Math.floor(Date.now() / 1000);
    const jwt = (claims: Record<string, unknown>) => {
      const encode = (part: unknown) => Buffer.from(JSON.stringify(part)).toString("base64url");
      const unsigned = `${encode({ alg: "RS256", typ: "JWT" })}.${encode(claims)}`;
      return `${unsigned}.${sign("RSA-SHA256", Buffer.from(unsigned), t.sandbox.privateKey).toString("base64url")}`;
    };
    const iss = t.sandbox.appId;
    const answer = async (claims: Record<string, unknown>) =>
      (await t.call(jwt(claims), "GET", "/app")).status;
    expect(await answer({ iss, iat: now - 30, exp: now + 500 })).toBe(200);
    expect(await answer({ iss, iat: now - 700, exp: now - 100 })).toBe(401);
    expect(await answer({ iss, iat: now + 300, exp: now + 800 })).toBe(401);
    expect(await answer({ iss, iat: now - 30, exp: now + 3600 })).toBe(401);
    expect(await answer({ iss: iss + 1, iat: now - 30, exp: now + 500 })).toBe(401);
  });

  it("stops honouring an installation token when it expires (after an hour)", async () => {
    const repo = await freshRepo();
    const { client, token } = await t.installation();
    await client.rest.repos.get(repo);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 61 * 60_000);
    const expired = await t.call(token, "GET", `/repos/${repo.owner}/${repo.repo}`);
    expect(expired.status).toBe(401);
    expect((expired.body as { message: string }).message).toBe("Bad credentials");
  });

  it("pages lists of more than 30 with Link headers", async () => {
    const repo = await freshRepo();
    const maintainer = as("maintainer");
    for (let n = 1; n <= 35; n++) await maintainer.rest.issues.create({ ...repo, title: `Issue ${n}` });
    const first = await maintainer.rest.issues.listForRepo(repo);
    expect(first.data).toHaveLength(30);
    const link = first.headers.link ?? "";
    expect(link).toMatch(/[?&]page=2[^>]*>; rel="next"/);
    expect(link).toMatch(/[?&]page=2[^>]*>; rel="last"/);
    const second = await maintainer.rest.issues.listForRepo({ ...repo, page: 2 });
    expect(second.data).toHaveLength(5);
    expect(second.headers.link).toMatch(/rel="prev"/);
    expect(second.headers.link).not.toMatch(/rel="next"/);
    const all = await maintainer.paginate(maintainer.rest.issues.listForRepo, { ...repo, per_page: 10 });
    expect(new Set(all.map((issue) => issue.number)).size).toBe(35);
  });

  it("serves a file as JSON with base64 content, or raw, and commits one with a push webhook", async () => {
    const repo = await freshRepo();
    const developer = as("developer");
    const text = "line one\nline two ✓\n";
    const from = await t.mark();
    const { data: written } = await developer.rest.repos.createOrUpdateFileContents({
      ...repo,
      path: "docs/notes.md",
      message: "Add notes",
      content: Buffer.from(text).toString("base64"),
    });
    const [push] = await t.hooksFor(repo, from);
    expect(push?.payload).toMatchObject({
      ref: "refs/heads/main",
      after: written.commit.sha,
      head_commit: { message: "Add notes", added: ["docs/notes.md"] },
    });

    const { data } = await developer.rest.repos.getContent({ ...repo, path: "docs/notes.md" });
    expect(data).toMatchObject({ type: "file", encoding: "base64", path: "docs/notes.md", name: "notes.md" });
    const file = data as { content: string; sha: string; size: number };
    expect(Buffer.from(file.content, "base64").toString("utf8")).toBe(text);
    expect(file.size).toBe(Buffer.byteLength(text));
    expect(file.sha).toBe(written.content?.sha);

    const raw = await t.call(
      t.sandbox.token("developer"),
      "GET",
      `/repos/${repo.owner}/${repo.repo}/contents/docs/notes.md`,
      undefined,
      {
        accept: "application/vnd.github.raw",
      },
    );
    expect(raw.status).toBe(200);
    expect(raw.body).toBe(text);
    expect(raw.headers.get("content-type")).toMatch(/^application\/vnd\.github\.raw/);

    // Replacing a file needs its blob sha: without one the request is invalid, with a stale one it conflicts.
    const replace = (sha?: string) =>
      t.call(
        t.sandbox.token("developer"),
        "PUT",
        `/repos/${repo.owner}/${repo.repo}/contents/docs/notes.md`,
        {
          message: "Replace",
          content: Buffer.from("new\n").toString("base64"),
          ...(sha === undefined ? {} : { sha }),
        },
      );
    const unsupplied = await replace();
    expect(unsupplied.status).toBe(422);
    expect((unsupplied.body as { message: string }).message).toContain('"sha"');
    expect((await replace("0".repeat(40))).status).toBe(409);
    expect((await replace(file.sha)).status).toBe(200);
  });

  it("answers bad input with 422 and a message that names the field", async () => {
    const repo = await freshRepo();
    const token = t.sandbox.token("maintainer");
    const base = `/repos/${repo.owner}/${repo.repo}`;
    const cases: [string, string, unknown, string][] = [
      ["POST", `${base}/issues`, { body: "no title" }, "title"],
      ["POST", `${base}/pulls`, { title: "t", base: "main" }, "head"],
      ["POST", `${base}/labels`, { color: "ffffff" }, "name"],
      ["POST", `${base}/issues/1/dependencies/blocked_by`, { issue: 3 }, "issue_id"],
      ["PUT", `${base}/contents/a.md`, { content: "eA==" }, "message"],
      ["PATCH", `${base}/issues/1`, { state: "shut" }, "state"],
    ];
    await as("maintainer").rest.issues.create({ ...repo, title: "One" });
    for (const [method, path, body, field] of cases) {
      const answer = await t.call(token, method, path, body);
      expect({ path, status: answer.status }).toEqual({ path, status: 422 });
      expect((answer.body as { message: string }).message).toContain(field);
    }
  });
});

describe("issues", () => {
  it("changes nothing when an edit is refused", async () => {
    const repo = await freshRepo();
    const { data: issue } = await as("maintainer").rest.issues.create({ ...repo, title: "Before" });
    const from = await t.mark();
    const refused = await t.call(
      t.sandbox.token("maintainer"),
      "PATCH",
      `/repos/${repo.owner}/${repo.repo}/issues/${issue.number}`,
      { title: "After", state: "done" },
    );
    expect(refused.status).toBe(422);
    const { data } = await as("maintainer").rest.issues.get({ ...repo, issue_number: issue.number });
    expect(data).toMatchObject({ title: "Before", state: "open" });
    expect(await t.hooksFor(repo, from)).toEqual([]);
  });
});

describe("check runs", () => {
  it("are written only by the app's installation, and listed by commit sha or branch name", async () => {
    const repo = await freshRepo({ git: true });
    const work = await clone(repo);
    const head = await pushBranch(work, "checked", { "c.md": "c\n" });
    const { client: app } = await t.installation();
    const { data: run } = await app.rest.checks.create({ ...repo, head_sha: head, name: "Drover" });
    expect(run).toMatchObject({ status: "queued", conclusion: null, app: { slug: t.sandbox.appSlug } });
    await app.rest.checks.create({ ...repo, head_sha: head, name: "Other", status: "in_progress" });
    const { data: done } = await app.rest.checks.update({
      ...repo,
      check_run_id: run.id,
      conclusion: "success",
      output: { title: "Passed", summary: "All good" },
    });
    expect(done).toMatchObject({ status: "completed", conclusion: "success", output: { title: "Passed" } });
    expect(done.completed_at).not.toBeNull();

    const reader = as("reader");
    const bySha = await reader.rest.checks.listForRef({ ...repo, ref: head });
    const byBranch = await reader.rest.checks.listForRef({ ...repo, ref: "checked", check_name: "Drover" });
    expect(bySha.data.check_runs.map((r) => r.name)).toEqual(["Drover", "Other"]);
    expect(byBranch.data).toMatchObject({ total_count: 1, check_runs: [{ id: run.id }] });
    expect(
      await statusOf(as("maintainer").rest.checks.create({ ...repo, head_sha: head, name: "Mine" })),
    ).toBe(403);
    expect(
      await statusOf(app.rest.checks.create({ ...repo, head_sha: "f".repeat(40), name: "Nowhere" })),
    ).toBe(422);
  });
});

describe("issue links", () => {
  it("lists a blocked_by link both ways, and removing it sends the *_removed webhooks", async () => {
    const repo = await freshRepo();
    const maintainer = as("maintainer");
    const { data: blocked } = await maintainer.rest.issues.create({ ...repo, title: "Blocked" });
    const { data: blocker } = await maintainer.rest.issues.create({ ...repo, title: "Blocker" });
    const from = await t.mark();
    await maintainer.rest.issues.addBlockedByDependency({
      ...repo,
      issue_number: blocked.number,
      issue_id: blocker.id,
    });
    const { data: blockedBy } = await maintainer.rest.issues.listDependenciesBlockedBy({
      ...repo,
      issue_number: blocked.number,
    });
    const { data: blocking } = await maintainer.rest.issues.listDependenciesBlocking({
      ...repo,
      issue_number: blocker.number,
    });
    expect(blockedBy.map((i) => i.number)).toEqual([blocker.number]);
    expect(blocking.map((i) => i.number)).toEqual([blocked.number]);
    const { data: summary } = await maintainer.rest.issues.get({ ...repo, issue_number: blocked.number });
    expect((summary as { issue_dependencies_summary?: unknown }).issue_dependencies_summary).toMatchObject({
      blocked_by: 1,
      total_blocked_by: 1,
    });

    await maintainer.rest.issues.removeDependencyBlockedBy({
      ...repo,
      issue_number: blocked.number,
      issue_id: blocker.id,
    });
    const hooks = await t.hooksFor(repo, from);
    expect(hookNames(hooks)).toEqual([
      "issue_dependencies.blocked_by_added",
      "issue_dependencies.blocking_added",
      "issue_dependencies.blocked_by_removed",
      "issue_dependencies.blocking_removed",
    ]);
    for (const hook of hooks) {
      expect(hook.payload).toMatchObject({
        blocked_issue: { number: blocked.number },
        blocking_issue: { number: blocker.number },
      });
    }
    const { data: none } = await maintainer.rest.issues.listDependenciesBlocking({
      ...repo,
      issue_number: blocker.number,
    });
    expect(none).toEqual([]);
  });

  it("moves a sub-issue to another parent only with replace_parent, telling both parents", async () => {
    const repo = await freshRepo();
    const maintainer = as("maintainer");
    const make = async (title: string) => (await maintainer.rest.issues.create({ ...repo, title })).data;
    const first = await make("First parent");
    const second = await make("Second parent");
    const child = await make("Child");
    await maintainer.rest.issues.addSubIssue({ ...repo, issue_number: first.number, sub_issue_id: child.id });
    const refused = await t.call(
      t.sandbox.token("maintainer"),
      "POST",
      `/repos/${repo.owner}/${repo.repo}/issues/${second.number}/sub_issues`,
      { sub_issue_id: child.id },
    );
    expect(refused.status).toBe(422);
    expect((refused.body as { message: string }).message).toContain("replace_parent");

    const from = await t.mark();
    await maintainer.rest.issues.addSubIssue({
      ...repo,
      issue_number: second.number,
      sub_issue_id: child.id,
      replace_parent: true,
    });
    const hooks = await t.hooksFor(repo, from);
    expect(hooks.map((h) => [h.action, (h.payload.parent_issue as { number: number }).number])).toEqual([
      ["sub_issue_removed", first.number],
      ["parent_issue_removed", first.number],
      ["sub_issue_added", second.number],
      ["parent_issue_added", second.number],
    ]);
    const { data: parent } = await maintainer.rest.issues.getParent({ ...repo, issue_number: child.number });
    expect(parent.number).toBe(second.number);
    const { data: left } = await maintainer.rest.issues.listSubIssues({
      ...repo,
      issue_number: first.number,
    });
    expect(left).toEqual([]);
    const { data: moved } = await maintainer.rest.issues.get({ ...repo, issue_number: second.number });
    expect((moved as { sub_issues_summary?: unknown }).sub_issues_summary).toMatchObject({ total: 1 });
  });
});
