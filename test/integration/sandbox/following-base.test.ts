import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { personClient, type Person } from "../../../src/demo/maintainer.ts";
import { startSandbox } from "../../../src/sandbox/server.ts";
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
 * What a pull request does when its base moves, as GitHub does it: mergeability unknown until asked
 * for, "Update branch" (a merge commit from base onto head), retargeting by PATCH and when a base
 * branch is deleted after its own pull request merged. One sandbox for the file, a repository per test.
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
});

afterAll(async () => {
  await t?.close();
});

const as = (login: string): Person => t.as(login);

/** A repository with README.md on main, and a clone of it as the developer. */
async function repoAndClone(): Promise<{ repo: Repo; work: Clone }> {
  repoCount += 1;
  const repo = await t.newRepo(`following-${repoCount}`);
  const work = await cloneRepo(t.sandbox, repo, t.sandbox.token("developer"));
  clones.push(work);
  return { repo, work };
}

/** Commits `files` on `branch` (made from `from` when new) and pushes it; returns the new sha. */
async function pushTo(work: Clone, branch: string, files: Record<string, string>, from = "origin/main") {
  const exists = (await work.git("branch", "--list", branch)) !== "";
  await work.git("checkout", "--quiet", ...(exists ? [branch] : ["-b", branch, from]));
  const sha = await work.commit(files, `Change ${Object.keys(files).join(", ")} on ${branch}`);
  await work.git("push", "--quiet", "origin", branch);
  return sha;
}

async function openPull(repo: Repo, head: string, base = "main") {
  const { data } = await as("developer").rest.pulls.create({ ...repo, title: head, head, base });
  return data;
}

const tip = async (work: Clone, branch: string) =>
  (await work.git("ls-remote", "origin", `refs/heads/${branch}`)).split("\t")[0] ?? "";

describe("mergeability", () => {
  it("is unknown once either branch moves, and worked out when the pull request is next asked for", async () => {
    const { repo, work } = await repoAndClone();
    await pushTo(work, "feature", { "README.md": "feature\n" });
    const pull = await openPull(repo, "feature");
    const maintainer = as("maintainer");
    const get = async () => (await maintainer.rest.pulls.get({ ...repo, pull_number: pull.number })).data;
    expect(await get()).toMatchObject({ mergeable: true, mergeable_state: "blocked" });

    // Base moves to conflict: a webhook about the pull request before anyone asks says "unknown".
    await pushTo(work, "main", { "README.md": "main\n" });
    const from = await t.mark();
    await maintainer.rest.issues.addLabels({ ...repo, issue_number: pull.number, labels: ["x"] });
    const labeled = await t.delivery((d) => d.action === "labeled", from);
    expect(labeled.payload.pull_request).toMatchObject({ mergeable: null, mergeable_state: "unknown" });
    expect(await get()).toMatchObject({ mergeable: false, rebaseable: false, mergeable_state: "dirty" });

    // Head moves (the conflict resolved by hand): `synchronize` says "unknown", the next read clean.
    await work.git("checkout", "--quiet", "feature");
    await work.git("merge", "--quiet", "origin/main", "-X", "ours", "-m", "Merge main");
    const mark = await t.mark();
    await work.git("push", "--quiet", "origin", "feature");
    const sync = await t.delivery((d) => d.action === "synchronize", mark);
    expect(sync.payload.pull_request).toMatchObject({ mergeable: null, mergeable_state: "unknown" });
    expect(await get()).toMatchObject({ mergeable: true, mergeable_state: "blocked" });
  });
  it("answers null for as long as GitHub's background job takes, when asked to take that long", async () => {
    const delay = 400;
    const sandbox = await startSandbox({ mergeabilityDelayMs: delay });
    try {
      const maintainer = personClient(sandbox.urls.api, sandbox.token("maintainer"));
      const repo = { owner: sandbox.organization, repo: "slow" };
      await maintainer.rest.repos.createInOrg({ org: repo.owner, name: repo.repo, auto_init: true });
      await maintainer.rest.repos.createOrUpdateFileContents({
        ...repo,
        path: "feature.md",
        branch: "feature",
        message: "Add the feature",
        content: Buffer.from("feature\n").toString("base64"),
      });
      const { data: pull } = await maintainer.rest.pulls.create({
        ...repo,
        title: "Feature",
        head: "feature",
        base: "main",
      });
      const asked = Date.now();
      const get = async () => (await maintainer.rest.pulls.get({ ...repo, pull_number: pull.number })).data;
      expect(await get()).toMatchObject({ mergeable: null, mergeable_state: "unknown" });
      let answer = await get();
      while (answer.mergeable === null) {
        await sleep(50);
        answer = await get();
      }
      expect(Date.now() - asked).toBeGreaterThanOrEqual(delay);
      expect(answer).toMatchObject({ mergeable: true, mergeable_state: "blocked" });
    } finally {
      await sandbox.close();
    }
  });
});

describe("update-branch", () => {
  it("merges base into head with a merge commit, answers 202 and sends push and synchronize", async () => {
    const { repo, work } = await repoAndClone();
    const first = await pushTo(work, "feature", { "feature.md": "feature\n" });
    const pull = await openPull(repo, "feature");
    const main = await pushTo(work, "main", { "main.md": "main\n" });

    const { client: installation } = await t.installation();
    const from = await t.mark();
    const answer = await installation.rest.pulls.updateBranch({
      ...repo,
      pull_number: pull.number,
      expected_head_sha: first,
    });
    expect(answer.status).toBe(202);
    expect(answer.data).toEqual({ message: "Updating pull request branch.", url: pull.url });

    const head = await tip(work, "feature");
    await work.git("fetch", "--quiet", "origin");
    expect(await work.git("log", "-1", "--format=%P%n%s", head)).toBe(
      `${first} ${main}\nMerge branch 'main' into feature`,
    );
    await t.delivery((d) => d.action === "synchronize", from);
    const hooks = await t.hooksFor(repo, from);
    expect(hookNames(hooks)).toEqual(["push", "pull_request.synchronize"]);
    const [push, sync] = hooks as [Received, Received];
    const bot = `${t.sandbox.appSlug}[bot]`;
    expect(push.payload).toMatchObject({ ref: "refs/heads/feature", before: first, after: head });
    expect(sync.payload).toMatchObject({ before: first, after: head, sender: { login: bot } });
    const { data: now } = await as("reader").rest.pulls.get({ ...repo, pull_number: pull.number });
    expect(now).toMatchObject({ head: { sha: head }, mergeable: true, commits: 2 });
  });

  it("refuses (422) a head that moved, a base with nothing new, a conflict, and a reader (403); nothing changes", async () => {
    const { repo, work } = await repoAndClone();
    const head = await pushTo(work, "feature", { "README.md": "feature\n" });
    const pull = await openPull(repo, "feature");
    const path = `/repos/${repo.owner}/${repo.repo}/pulls/${pull.number}/update-branch`;
    const update = (body: unknown = {}, login = "developer") =>
      t.call(t.sandbox.token(login), "PUT", path, body);
    const current = await update();
    expect(current.status).toBe(422);
    expect(current.body).toMatchObject({ message: "There are no new commits on the base branch." });

    await pushTo(work, "main", { "README.md": "main\n" });
    const afterMain = await t.mark();
    const moved = await update({ expected_head_sha: "f".repeat(40) });
    expect(moved.status).toBe(422);
    expect(moved.body).toMatchObject({ message: "expected head sha didn't match current head ref." });
    const conflict = await update({ expected_head_sha: head });
    expect(conflict.status).toBe(422);
    expect(conflict.body).toMatchObject({ message: "merge conflict between base and head" });
    expect((await update({}, "reader")).status).toBe(403);

    expect(await tip(work, "feature")).toBe(head);
    expect(hookNames(await t.hooksFor(repo, afterMain))).toEqual([]);
  });
});

describe("retargeting", () => {
  it("moves a pull request to another base with PATCH: edited names the old base, numbers follow", async () => {
    const { repo, work } = await repoAndClone();
    await pushTo(work, "lower", { "lower.md": "lower\n" });
    await pushTo(work, "upper", { "upper.md": "upper\n" }, "lower");
    const pull = await openPull(repo, "upper");
    expect(pull).toMatchObject({ commits: 2, base: { ref: "main" } });
    const oldBase = pull.base.sha;
    const developer = as("developer");

    expect(
      await statusOf(developer.rest.pulls.update({ ...repo, pull_number: pull.number, base: "missing" })),
    ).toBe(422);
    expect(
      await statusOf(developer.rest.pulls.update({ ...repo, pull_number: pull.number, base: "upper" })),
    ).toBe(422);
    const from = await t.mark();
    const { data } = await developer.rest.pulls.update({ ...repo, pull_number: pull.number, base: "lower" });
    expect(data).toMatchObject({ base: { ref: "lower", sha: await tip(work, "lower") }, commits: 1 });
    const [edited] = await t.hooksFor(repo, from);
    expect(edited?.action).toBe("edited");
    expect(edited?.payload.changes).toEqual({ base: { ref: { from: "main" }, sha: { from: oldBase } } });
  });

  it.each(["a git push", "the REST API"])(
    "moves pull requests into a branch deleted by %s to the base its own pull request merged into",
    async (how) => {
      const { repo, work } = await repoAndClone();
      await pushTo(work, "lower", { "lower.md": "lower\n" });
      await pushTo(work, "upper", { "upper.md": "upper\n" }, "lower");
      const lower = await openPull(repo, "lower");
      const upper = await openPull(repo, "upper", "lower");
      await as("maintainer").rest.pulls.merge({ ...repo, pull_number: lower.number });

      const from = await t.mark();
      if (how === "a git push") await work.git("push", "--quiet", "origin", "--delete", "lower");
      else await as("developer").rest.git.deleteRef({ ...repo, ref: "heads/lower" });
      const edited = await t.delivery((d) => d.action === "edited", from);
      expect(edited.payload).toMatchObject({
        number: upper.number,
        changes: { base: { ref: { from: "lower" } } },
        pull_request: { base: { ref: "main" } },
        sender: { login: "developer" },
      });
      const { data } = await as("reader").rest.pulls.get({ ...repo, pull_number: upper.number });
      expect(data).toMatchObject({ state: "open", base: { ref: "main" }, commits: 1, mergeable: true });
    },
  );
});
