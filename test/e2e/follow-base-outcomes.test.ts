import { describe, expect, it } from "vitest";
import { resolveRef } from "../../src/sandbox/git/refs.ts";
import { baseWorld, lineAgent, REVIEW } from "../helpers/follow-base.ts";
import { git } from "../helpers/git-sandbox.ts";
import { cloneRepo } from "../helpers/sandbox.ts";
import { eventually, useStack } from "../helpers/stack.ts";

/**
 * Pull requests following their base branch (follow-base.test.ts has the conflicts the agent resolves),
 * through the sandbox with Drover's web and worker as their own processes: an agent that leaves the
 * conflicts hands the task to a person, saying so on the issue and the check run, and Drover notices when
 * the person resolved them; with `update_branch: always` a pull request behind its base gets a merge of it.
 */

const drover = useStack({ workers: 2 });
const { status, labelsOf, bare, blob, checksOn, headOf, branchOf, repoWithLine, inReview, movedOn } =
  baseWorld(drover);

describe("pull requests following their base branch: left to a person, or kept up to date", () => {
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
    const branch = branchOf(name, left!.pull);
    expect(comment).toContain("| State | `conflict` |");
    expect(comment).toContain("still conflicts in `LINE.md`");
    // The agent claimed it resolved them: the summary says what is so.
    expect(comment).toContain("**Summary:** Conflict markers are left in `LINE.md`.");
    expect(comment).toContain("/drover retry");
    expect(comment).toContain(`merge the base branch into \`${branch}\` yourself and push`);
    // Nothing pushed: the head is the one reviewed, and its check run asks for action.
    expect(headOf(name, left!.pull)).toBe(left!.head);
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
        labelsOf(name, left!.issue).includes("drover:review") &&
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

    const newHead = await movedOn(name, behind!.pull, behind!.head, "the pull request brought up to date");
    const parents = (await git(bare(name), "rev-list", "--parents", "-n", "1", newHead)).split(" ");
    expect(parents.slice(1)).toEqual([behind!.head, main]);
    expect(await git(bare(name), "log", "-1", "--format=%s", newHead)).toBe(
      `Merge main into ${branchOf(name, behind!.pull)}`,
    );
    expect(await blob(name, newHead, "OTHER.md")).toBe("elsewhere\n");
    expect(await blob(name, newHead, "LINE.md")).toBe("Say hello\nbelow it\n");
    const { data } = await maintainer.rest.pulls.get({ ...repo, pull_number: behind!.pull });
    expect(data).toMatchObject({ mergeable: true, head: { sha: newHead } });
    const comment = await eventually("the status comment showing the new head", () => {
      const body = status(name, behind!.issue);
      return body.includes(newHead.slice(0, 12)) && body;
    });
    expect(comment).toContain(REVIEW);
    expect(comment).toContain("without conflicts");
  }, 60_000);
});
