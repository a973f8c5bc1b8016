import { describe, expect, it } from "vitest";
import { REVIEW } from "../helpers/follow-base.ts";
import { git } from "../helpers/git-sandbox.ts";
import { eventually, repoWithConfig, useStack } from "../helpers/stack.ts";
import { chainWorld, STACKED } from "../helpers/stacked.ts";

/**
 * Stacked work (drover.yml `stack: true`) through the sandbox with Drover's web and worker as their own
 * processes: three issues, each natively "blocked by" the one before, do not wait for each other's merges.
 * Each starts on its blocker's branch as soon as the blocker is in review with its checks passed, its pull
 * request into that branch; the maintainer then merges them in order, and each merge moves the next pull
 * request into main, where it shows only its own work.
 */

const drover = useStack({ workers: 2 });

describe("a stacked chain", () => {
  it("starts each task on its blocker's branch, and retargets each to main as the one below merges", async () => {
    const name = "stacked-chain";
    const {
      maintainer,
      blob,
      repo,
      pull,
      chain,
      inReview,
      changedFiles,
      merge,
      intoMain,
      allDone,
      filesOnMain,
    } = chainWorld(drover, name);
    await repoWithConfig(maintainer, name, STACKED);
    const [a, b, c] = (await chain(["Write the parser", "Use the parser", "Document the parser"])) as [
      number,
      number,
      number,
    ];

    // Each starts while the one it is blocked by is in review, on that one's branch, its pull request into it.
    const pullA = await inReview(a);
    expect(pullA.pull).toMatchObject({ base: "main", merged: false });
    const pullB = await inReview(b);
    const pullC = await inReview(c);
    const branchA = pullA.pull!.head;
    const branchB = pullB.pull!.head;
    expect(pullB.pull).toMatchObject({ base: branchA, merged: false });
    expect(pullB.body).toContain(`Stacked on #${a} (branch \`${branchA}\`)`);
    expect(pullC.pull).toMatchObject({ base: branchB, merged: false });
    expect(pullC.body).toContain(`Stacked on #${b} (branch \`${branchB}\`)`);
    // The agent saw its blockers' work in its worktree; its pull request shows only its own.
    expect(await blob(name, pullB.pull!.headSha, `task-${b}.md`)).toBe(`Use the parser\nsaw: task-${a}.md\n`);
    expect(await blob(name, pullC.pull!.headSha, `task-${c}.md`)).toBe(
      `Document the parser\nsaw: task-${a}.md task-${b}.md\n`,
    );
    for (const { number } of [pullA, pullB, pullC]) {
      const { data } = await maintainer.rest.pulls.get({ ...repo, pull_number: number });
      expect(data).toMatchObject({ changed_files: 1, commits: 1 });
    }
    const heads = [pullA, pullB, pullC].map((p) => p.pull!.headSha);

    // A merges: B goes into main, showing only its own file; C stays on B's branch.
    await merge(pullA.number);
    await intoMain(pullB.number, `#${pullB.number} retargeted to main after #${pullA.number} merged`);
    expect(await changedFiles(pullB.number)).toEqual({
      base: "main",
      files: [`task-${b}.md`],
      mergeable: true,
    });
    expect(pull(pullC.number).base).toBe(branchB);

    // B merges: C goes into main.
    await merge(pullB.number);
    await intoMain(pullC.number, `#${pullC.number} retargeted to main after #${pullB.number} merged`);
    expect(await changedFiles(pullC.number)).toEqual({
      base: "main",
      files: [`task-${c}.md`],
      mergeable: true,
    });

    // C merges: main has all three tasks' work, and all three issues are closed and done.
    await merge(pullC.number);
    expect(await filesOnMain()).toEqual(
      expect.arrayContaining([`task-${a}.md`, `task-${b}.md`, `task-${c}.md`]),
    );
    await allDone([a, b, c]);
    // Nothing was rebuilt on the way: each pull request merged the one commit its agent made.
    expect([pullA, pullB, pullC].map((p) => pull(p.number).headSha)).toEqual(heads);
  }, 90_000);
  it("brings the whole stack up to date when a person pushes to the bottom of it", async () => {
    const name = "stacked-rework";
    const {
      maintainer,
      status,
      blob,
      bare,
      repo,
      pull,
      passed,
      chain,
      inReview,
      changedFiles,
      merge,
      intoMain,
      allDone,
      filesOnMain,
    } = chainWorld(drover, name);
    await repoWithConfig(maintainer, name, STACKED);
    const [a, b, c] = (await chain(["Write the lexer", "Use the lexer", "Test the lexer"])) as [
      number,
      number,
      number,
    ];
    const [pullA, pullB, pullC] = [await inReview(a), await inReview(b), await inReview(c)];
    const [headB, headC] = [pullB.pull!.headSha, pullC.pull!.headSha];

    // The maintainer adds a commit to A's branch, as a reviewer fixing something by hand.
    await maintainer.rest.repos.createOrUpdateFileContents({
      ...repo,
      path: "REVIEW.md",
      message: "Fix the lexer by hand",
      content: Buffer.from("fixed by hand\n").toString("base64"),
      branch: pullA.pull!.head,
    });
    const newA = pull(pullA.number).headSha;

    /** Waits until the pull request's head moved on from `from` to a merge of `merged`, its check passing. */
    const rebuilt = (number: number, from: string, merged: () => string, what: string) =>
      eventually(
        what,
        async () => {
          const now = pull(number).headSha;
          if (now === from || !passed(now)) return undefined;
          const parents = (await git(bare(name), "rev-list", "--parents", "-n", "1", now))
            .split(" ")
            .slice(1);
          return parents[0] === from && parents[1] === merged() && now;
        },
        40_000,
      );
    // B gets A's new commit merged in, on top of what was reviewed (never forced); then C gets B's.
    const newB = await rebuilt(
      pullB.number,
      headB,
      () => newA,
      `#${pullB.number} merging #${pullA.number}'s new head`,
    );
    const newC = await rebuilt(
      pullC.number,
      headC,
      () => newB,
      `#${pullC.number} merging #${pullB.number}'s new head`,
    );
    for (const head of [newB, newC]) expect(await blob(name, head, "REVIEW.md")).toBe("fixed by hand\n");
    await eventually(
      `#${c}'s status comment showing its new head`,
      () => status(name, c).includes(newC.slice(0, 12)) && status(name, c).includes(REVIEW),
    );

    // Merged in order, each still shows only its own file once in main.
    await merge(pullA.number);
    await intoMain(pullB.number, `#${pullB.number} retargeted to main`);
    expect(await changedFiles(pullB.number)).toEqual({
      base: "main",
      files: [`task-${b}.md`],
      mergeable: true,
    });
    await merge(pullB.number);
    await intoMain(pullC.number, `#${pullC.number} retargeted to main`);
    expect(await changedFiles(pullC.number)).toEqual({
      base: "main",
      files: [`task-${c}.md`],
      mergeable: true,
    });
    await merge(pullC.number);
    expect(await filesOnMain()).toEqual(
      expect.arrayContaining(["REVIEW.md", `task-${a}.md`, `task-${b}.md`, `task-${c}.md`]),
    );
    await allDone([a, b, c]);
  }, 90_000);
});
