import { describe, expect, it } from "vitest";
import { resolveRef } from "../../src/sandbox/git/refs.ts";
import { baseWorld, lineAgent, REVIEW } from "../helpers/follow-base.ts";
import { git } from "../helpers/git-sandbox.ts";
import { eventually, useStack } from "../helpers/stack.ts";

/**
 * Drover's pull requests follow their base branch, through the sandbox with Drover's web and worker as
 * their own processes: three tasks change the same line and reach review, one pull request is merged, and
 * the other two get the base merged in with their conflicts resolved by the agent, as new commits on the
 * same pull requests (never a force-push), checked again and mergeable. What is left to a person, and
 * `update_branch: always`, are in follow-base-outcomes.test.ts (a stack of its own: see baseWorld).
 */

const drover = useStack({ workers: 2 });
const { issueOf, status, labelsOf, bare, blob, checksOn, repoWithLine, inReview, movedOn } =
  baseWorld(drover);

/** The parents of a commit. */
const parentsOf = async (name: string, sha: string) =>
  (await git(bare(name), "rev-list", "--parents", "-n", "1", sha)).split(" ").slice(1);

describe("pull requests following their base branch", () => {
  it("resolves the conflicts of two pull requests with a merged third, as new commits on each", async () => {
    const maintainer = drover.as("maintainer");
    const name = "one-line";
    const repo = await repoWithLine(name, lineAgent());
    const [merged, ...others] = await inReview(repo, ["Say alpha", "Say beta", "Say gamma"]);
    for (const { issue, head } of [merged!, ...others])
      expect(await blob(name, head, "LINE.md")).toBe(`${issueOf(name, issue).title}\nbelow it\n`);

    await maintainer.rest.pulls.merge({ ...repo, pull_number: merged!.pull, sha: merged!.head });
    const main = (await resolveRef(bare(name), "refs/heads/main"))!;
    expect(await blob(name, main, "LINE.md")).toBe("Say alpha\nbelow it\n");

    const updated: string[] = [];
    for (const { issue, pull, head } of others) {
      const newHead = await movedOn(name, pull, head, `#${pull} brought up to date, its check run passing`);
      const { data } = await maintainer.rest.pulls.get({ ...repo, pull_number: pull });
      expect(data).toMatchObject({ mergeable: true, head: { sha: newHead } });
      // Never a force-push: the head a reviewer saw is an ancestor of the new one, a merge of main into it.
      await git(bare(name), "merge-base", "--is-ancestor", head, newHead);
      expect(await parentsOf(name, newHead)).toEqual([head, main]);
      // Both sides kept, this branch's first.
      expect(await blob(name, newHead, "LINE.md")).toBe(
        `${issueOf(name, issue).title}\nSay alpha\nbelow it\n`,
      );
      // While it conflicted, its earlier check run asked for action; the new head's passes.
      expect(checksOn(name, head).map((run) => run.conclusion)).toContain("action_required");
      const comment = await eventually(`#${issue}'s status comment back in review`, () => {
        const body = status(name, issue);
        return body.includes(REVIEW) && body.includes(newHead.slice(0, 12)) && body;
      });
      expect(comment).toContain("resolved the conflicts with `main` in `LINE.md`");
      expect(labelsOf(name, issue)).toContain("drover:review");
      expect(labelsOf(name, issue)).not.toContain("drover:conflict");
      updated.push(newHead);
    }

    // The second is merged too: the third conflicts again, and its second resolution keeps all three.
    const [second, third] = others;
    await maintainer.rest.pulls.merge({ ...repo, pull_number: second!.pull, sha: updated[0]! });
    const lastHead = await movedOn(
      name,
      third!.pull,
      updated[1]!,
      `#${third!.pull} brought up to date again`,
    );
    await git(bare(name), "merge-base", "--is-ancestor", third!.head, lastHead);
    expect(await blob(name, lastHead, "LINE.md")).toBe(
      `${issueOf(name, third!.issue).title}\n${issueOf(name, second!.issue).title}\nSay alpha\nbelow it\n`,
    );
    const { data: last } = await maintainer.rest.pulls.get({ ...repo, pull_number: third!.pull });
    expect(last.mergeable).toBe(true);
    await eventually("the third's status comment showing its newest head", () =>
      status(name, third!.issue).includes(lastHead.slice(0, 12)),
    );
  }, 90_000);
});
