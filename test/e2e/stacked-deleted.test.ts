import { describe, expect, it } from "vitest";
import { repoWithConfig, useStack } from "../helpers/stack.ts";
import { chainWorld, STACKED } from "../helpers/stacked.ts";

/**
 * Stacked work as in stacked.test.ts, in a repository that deletes a pull request's branch once it merges
 * (GitHub's "automatically delete head branches"): GitHub moves the pull requests stacked on it into its
 * base itself, and Drover, finding none left to move, ends the same. A file of its own for Drover's budget
 * of writes a minute (see chainWorld).
 */

const drover = useStack({ workers: 2 });

describe("a stacked chain whose merged branches are deleted", () => {
  it("ends the same when each merged branch is deleted, GitHub retargeting the next itself", async () => {
    const name = "stacked-deleted";
    const { maintainer, repo, pull, chain, inReview, changedFiles, merge, intoMain, allDone, filesOnMain } =
      chainWorld(drover, name);
    await repoWithConfig(maintainer, name, STACKED);
    const [a, b, c] = (await chain(["Write the cache", "Use the cache", "Expire the cache"])) as [
      number,
      number,
      number,
    ];
    const pulls = [await inReview(a), await inReview(b), await inReview(c)];
    /** Merges the pull request and deletes its branch, as GitHub's "automatically delete head branches". */
    const mergeAndDelete = async (number: number) => {
      await merge(number);
      await maintainer.rest.git.deleteRef({ ...repo, ref: `heads/${pull(number).head}` });
    };

    await mergeAndDelete(pulls[0]!.number);
    await intoMain(pulls[1]!.number, `#${pulls[1]!.number} retargeted to main`);
    expect(await changedFiles(pulls[1]!.number)).toEqual({
      base: "main",
      files: [`task-${b}.md`],
      mergeable: true,
    });
    await mergeAndDelete(pulls[1]!.number);
    await intoMain(pulls[2]!.number, `#${pulls[2]!.number} retargeted to main`);
    expect(await changedFiles(pulls[2]!.number)).toEqual({
      base: "main",
      files: [`task-${c}.md`],
      mergeable: true,
    });
    await mergeAndDelete(pulls[2]!.number);
    expect(await filesOnMain()).toEqual(
      expect.arrayContaining([`task-${a}.md`, `task-${b}.md`, `task-${c}.md`]),
    );
    await allDone([a, b, c]);
    // Each went into main, none left open into a branch that no longer exists.
    for (const { number } of pulls) expect(pull(number)).toMatchObject({ base: "main", merged: true });
  }, 90_000);
});
