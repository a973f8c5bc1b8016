import path from "node:path";
import { describe, expect, it } from "vitest";
import { STATUS_MARKER } from "../../src/github/comments.ts";
import { readBlob, resolveRef } from "../../src/sandbox/git/refs.ts";
import type { IssueRecord } from "../../src/sandbox/world.ts";
import { git } from "../helpers/git-sandbox.ts";
import { cloneRepo } from "../helpers/sandbox.ts";
import { BOT, eventually, repoWithConfig, useStack } from "../helpers/stack.ts";

/**
 * Drover's pull requests follow their base branch, through the sandbox with Drover's web and worker as
 * their own processes: three tasks change the same line, one pull request is merged, and the other two
 * get the base merged in with their conflicts resolved by the agent, as new commits on the same pull
 * requests (never a force-push); an agent that leaves the conflicts hands the task to a person, saying so
 * on the issue and the check run; with `update_branch: always` a pull request behind its base is brought
 * up to date.
 */

const AGENTS = new URL("../fixtures/agents/", import.meta.url).pathname;
/** Writes the issue's title on LINE.md's first line, or resolves a merge by keeping both sides. */
const lineAgent = (...args: string[]) =>
  `agent: command\nagent_command: ${JSON.stringify([process.execPath, path.join(AGENTS, "line-or-resolve.mjs"), ...args])}\n`;

const drover = useStack({ workers: 2 });

const world = (name: string) => drover.stack().sandbox.world.repo("acme", name)!;
const issueOf = (name: string, number: number) => world(name).issues.get(number)!;
const status = (name: string, number: number) =>
  issueOf(name, number).comments.find((c) => c.user.login === BOT && c.body.includes(STATUS_MARKER))?.body ??
  "";
const labelsOf = (name: string, number: number) => issueOf(name, number).labels.map((l) => l.name);
const pullFor = (name: string, number: number): IssueRecord | undefined =>
  [...world(name).issues.values()].find((i) => i.pull && i.body?.includes(`Closes #${number}`));
const bare = (name: string) => drover.stack().sandbox.bareRepository("acme", name);
const blob = async (name: string, ref: string, file: string) =>
  (await readBlob(bare(name), ref, file))?.toString();
/** The check runs Drover made on a commit, latest last. */
const checksOn = (name: string, sha: string) =>
  world(name).checkRuns.filter((run) => run.headSha === sha && run.status === "completed");
const passedOn = (name: string, sha: string) =>
  checksOn(name, sha).some((run) => run.conclusion === "success");
const REVIEW = "✅ Pull request ready for review";

/** A repository whose main branch has LINE.md, the line every task changes, and one below it. */
async function repoWithLine(name: string, config: string) {
  const maintainer = drover.as("maintainer");
  const repo = await repoWithConfig(maintainer, name, config);
  await maintainer.rest.repos.createOrUpdateFileContents({
    ...repo,
    path: "LINE.md",
    message: "Add the line",
    content: Buffer.from("the line\nbelow it\n").toString("base64"),
  });
  return repo;
}

/** Issues labelled `drover`, each in review with its pull request's check run passing; their pulls. */
async function inReview(repo: { owner: string; repo: string }, titles: string[]) {
  const maintainer = drover.as("maintainer");
  const issues = [];
  for (const title of titles) {
    const { data } = await maintainer.rest.issues.create({ ...repo, title });
    await maintainer.rest.issues.addLabels({ ...repo, issue_number: data.number, labels: ["drover"] });
    issues.push(data.number);
  }
  const pulls = [];
  for (const number of issues) {
    const pull = await eventually(
      `#${number}'s pull request with its check run passing`,
      () => {
        const found = pullFor(repo.repo, number);
        return found?.pull &&
          passedOn(repo.repo, found.pull.headSha) &&
          status(repo.repo, number).includes(REVIEW)
          ? found
          : undefined;
      },
      40_000,
    );
    pulls.push({ issue: number, pull: pull.number, head: pull.pull!.headSha });
  }
  return pulls;
}

describe("pull requests following their base branch", () => {
  it("resolves the conflicts of two pull requests with a merged third, as new commits on each", async () => {
    const maintainer = drover.as("maintainer");
    const name = "one-line";
    const repo = await repoWithLine(name, lineAgent());
    const [merged, ...others] = await inReview(repo, ["Say alpha", "Say beta", "Say gamma"]);
    for (const { head } of [merged!, ...others])
      expect((await blob(name, head, "LINE.md"))?.split("\n")[1]).toBe("below it");

    await maintainer.rest.pulls.merge({ ...repo, pull_number: merged!.pull, sha: merged!.head });
    const main = (await resolveRef(bare(name), "refs/heads/main"))!;
    expect(await blob(name, main, "LINE.md")).toBe("Say alpha\nbelow it\n");

    for (const { issue, pull, head } of others) {
      const title = issueOf(name, issue).title;
      const newHead = await eventually(
        `#${pull} brought up to date with a passing check run`,
        () => {
          const now = issueOf(name, pull).pull!.headSha;
          return now !== head && passedOn(name, now) && now;
        },
        40_000,
      );
      const { data } = await maintainer.rest.pulls.get({ ...repo, pull_number: pull });
      expect(data).toMatchObject({ mergeable: true, head: { sha: newHead } });
      // Never a force-push: the head a reviewer saw is an ancestor of the new one, a merge of main into it.
      await git(bare(name), "merge-base", "--is-ancestor", head, newHead);
      const parents = (await git(bare(name), "rev-list", "--parents", "-n", "1", newHead)).split(" ");
      expect(parents.slice(1)).toEqual([head, main]);
      // Both sides kept, this branch's first.
      expect(await blob(name, newHead, "LINE.md")).toBe(`${title}\nSay alpha\nbelow it\n`);
      // While it conflicted, its earlier check run asked for action; the new head's passes.
      expect(checksOn(name, head).map((run) => run.conclusion)).toContain("action_required");
      const comment = await eventually(`#${issue}'s status comment back in review`, () => {
        const body = status(name, issue);
        return body.includes(REVIEW) && body.includes(newHead.slice(0, 12)) && body;
      });
      expect(comment).toContain("resolved the conflicts with `main` in `LINE.md`");
      expect(labelsOf(name, issue)).not.toContain("drover:conflict");
    }
  }, 90_000);

  it("hands a pull request to a person when the agent leaves its conflicts, and notices they resolved it", async () => {
    const maintainer = drover.as("maintainer");
    const name = "left-in-conflict";
    const repo = await repoWithLine(name, lineAgent("leave"));
    const [merged, left] = await inReview(repo, ["Say one", "Say two"]);

    await maintainer.rest.pulls.merge({ ...repo, pull_number: merged!.pull, sha: merged!.head });
    await eventually(
      "the drover:conflict label",
      () => labelsOf(name, left!.issue).includes("drover:conflict"),
      40_000,
    );
    const comment = await eventually("the status comment saying what to do", () => {
      const body = status(name, left!.issue);
      return body.includes("Conflicts with the base branch") && body;
    });
    const branch = issueOf(name, left!.pull).pull!.head;
    expect(comment).toContain("| State | `conflict` |");
    expect(comment).toContain("still conflicts in `LINE.md`");
    expect(comment).toContain("/drover retry");
    expect(comment).toContain(`merge the base branch into \`${branch}\` yourself and push`);
    // Nothing pushed: the head is the one reviewed, its check run asks for action.
    expect(issueOf(name, left!.pull).pull!.headSha).toBe(left!.head);
    await eventually("the check run on the head asking for action, naming the file", () => {
      const latest = checksOn(name, left!.head).at(-1);
      return (
        latest?.conclusion === "action_required" &&
        latest.output.summary?.includes("still conflicts in `LINE.md`")
      );
    });
    const { data } = await maintainer.rest.pulls.get({ ...repo, pull_number: left!.pull });
    expect(data.mergeable).toBe(false);

    // The maintainer merges main into the branch by hand and pushes: the task is in review again.
    const clone = await cloneRepo(drover.stack().sandbox, repo, drover.stack().sandbox.token("maintainer"));
    try {
      await clone.git("checkout", "--quiet", branch);
      await clone.git("merge", "--quiet", "origin/main").catch(() => "conflicts, as expected");
      await clone.commit({ "LINE.md": "Say two, then one\nbelow it\n" }, "Merge main by hand");
      await clone.git("push", "--quiet", "origin", branch);
    } finally {
      await clone.remove();
    }
    await eventually("the task back in review, without the conflict label", () => {
      const body = status(name, left!.issue);
      return (
        body.includes(REVIEW) &&
        body.includes("merges cleanly into `main` again") &&
        !labelsOf(name, left!.issue).includes("drover:conflict")
      );
    });
    const { data: resolved } = await maintainer.rest.pulls.get({ ...repo, pull_number: left!.pull });
    expect(resolved.mergeable).toBe(true);
  }, 90_000);

  it("merges main into a clean pull request behind it with update_branch: always", async () => {
    const maintainer = drover.as("maintainer");
    const name = "always-updated";
    const repo = await repoWithLine(name, `${lineAgent()}update_branch: always\n`);
    const [behind] = await inReview(repo, ["Say hello"]);
    await maintainer.rest.repos.createOrUpdateFileContents({
      ...repo,
      path: "OTHER.md",
      message: "Add another file",
      content: Buffer.from("elsewhere\n").toString("base64"),
    });
    const main = (await resolveRef(bare(name), "refs/heads/main"))!;

    const newHead = await eventually(
      "the pull request brought up to date with a passing check run",
      () => {
        const now = issueOf(name, behind!.pull).pull!.headSha;
        return now !== behind!.head && passedOn(name, now) && now;
      },
      40_000,
    );
    const parents = (await git(bare(name), "rev-list", "--parents", "-n", "1", newHead)).split(" ");
    expect(parents.slice(1)).toEqual([behind!.head, main]);
    expect(await git(bare(name), "log", "-1", "--format=%s", newHead)).toBe(
      `Merge main into ${issueOf(name, behind!.pull).pull!.head}`,
    );
    expect(await blob(name, newHead, "OTHER.md")).toBe("elsewhere\n");
    expect(await blob(name, newHead, "LINE.md")).toBe("Say hello\nbelow it\n");
    const { data } = await maintainer.rest.pulls.get({ ...repo, pull_number: behind!.pull });
    expect(data).toMatchObject({ mergeable: true, head: { sha: newHead } });
    await eventually("the status comment showing the new head", () =>
      status(name, behind!.issue).includes(newHead.slice(0, 12)),
    );
    expect(status(name, behind!.issue)).toContain(REVIEW);
  }, 90_000);
});
