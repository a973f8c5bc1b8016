import pino from "pino";
import { Probot } from "probot";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { GitHubApp } from "../../../src/github/app.ts";
import { openPullRequestsInto, retargetPullRequest } from "../../../src/github/pulls.ts";
import type { Octokit } from "../../../src/github/types.ts";
import { cloneRepo, startTestSandbox, type Clone, type TestSandbox } from "../../helpers/sandbox.ts";

/**
 * A stacked pull request (drover.yml `stack: true`) after its blocker's pull request merged, against the
 * sandbox: Drover finds it among the open pull requests into the merged branch and points it at the base,
 * where it then shows only its own commits; a retarget GitHub refuses is an answer, not an error.
 */
describe("retargeting a stacked pull request", () => {
  let hub: TestSandbox;
  let drover: Octokit;
  const clones: Clone[] = [];

  beforeAll(async () => {
    hub = await startTestSandbox();
    const log = pino({ level: "silent" });
    const probot = new Probot({
      appId: hub.sandbox.appId,
      privateKey: hub.sandbox.privateKey,
      baseUrl: hub.api,
      log,
    });
    drover = await new GitHubApp(probot).installation(hub.sandbox.installationId);
  }, 30_000);
  afterEach(async () => Promise.all(clones.splice(0).map((clone) => clone.remove())));
  afterAll(async () => hub?.close());

  it("moves the pull request into the merged branch's base, and only those still into it", async () => {
    const repo = await hub.newRepo("stacked");
    const work = await cloneRepo(hub.sandbox, repo, hub.sandbox.token("maintainer"));
    clones.push(work);
    const push = async (branch: string, from: string, file: string) => {
      await work.git("checkout", "--quiet", "-B", branch, from);
      await work.commit({ [file]: `${file}\n` }, `Add ${file}`);
      await work.git("push", "--quiet", "origin", `HEAD:refs/heads/${branch}`);
    };
    await push("drover/1-blocker", "origin/main", "blocker.md");
    await push("drover/2-stacked", "origin/drover/1-blocker", "stacked.md");
    const open = async (head: string, base: string) =>
      (await drover.rest.pulls.create({ ...repo, head, base, title: head })).data.number;
    const blocker = await open("drover/1-blocker", "main");
    const stacked = await open("drover/2-stacked", "drover/1-blocker");
    expect(await openPullRequestsInto(drover, repo, "drover/1-blocker")).toEqual([stacked]);

    // Merged, its branch kept: GitHub leaves the stacked pull request where it was.
    await hub.as("maintainer").rest.pulls.merge({ ...repo, pull_number: blocker });
    expect(await retargetPullRequest(drover, repo, stacked, "main")).toEqual({ kind: "retargeted" });
    const { data } = await drover.rest.pulls.get({ ...repo, pull_number: stacked });
    expect(data).toMatchObject({ state: "open", base: { ref: "main" }, commits: 1 });
    expect(await openPullRequestsInto(drover, repo, "drover/1-blocker")).toEqual([]);

    // Into a branch that already has every commit of it: refused, and it stays where it is.
    const refused = await retargetPullRequest(drover, repo, stacked, "drover/2-stacked");
    expect(refused).toMatchObject({ kind: "refused" });
    const after = await drover.rest.pulls.get({ ...repo, pull_number: stacked });
    expect(after.data.base.ref).toBe("main");
  });
});
