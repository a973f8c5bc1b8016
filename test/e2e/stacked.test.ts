import path from "node:path";
import { describe, expect, it } from "vitest";
import { resolveRef } from "../../src/sandbox/git/refs.ts";
import type { IssueRecord } from "../../src/sandbox/world.ts";
import { baseWorld, REVIEW } from "../helpers/follow-base.ts";
import { git } from "../helpers/git-sandbox.ts";
import { eventually, repoWithConfig, useStack } from "../helpers/stack.ts";

const AGENTS = new URL("../fixtures/agents/", import.meta.url).pathname;

/** drover.yml: stacked work on, and an agent that writes `task-<issue>.md` (what it saw, on its 2nd line). */
const STACKED = [
  "stack: true",
  "agent: command",
  `agent_command: ${JSON.stringify([process.execPath, path.join(AGENTS, "own-file.mjs")])}`,
  "",
].join("\n");

/**
 * Stacked work (drover.yml `stack: true`) through the sandbox with Drover's web and worker as their own
 * processes: three issues, each natively "blocked by" the one before, do not wait for each other's merges.
 * Each starts on its blocker's branch as soon as the blocker is in review with its checks passed, its pull
 * request into that branch; the maintainer then merges them in order, and each merge moves the next pull
 * request into main, where it shows only its own work.
 */

const drover = useStack({ workers: 2 });
const { issueOf, status, labelsOf, bare, blob, checksOn } = baseWorld(drover);

describe("a stacked chain", () => {
  it("starts each task on its blocker's branch, and retargets each to main as the one below merges", async () => {
    const maintainer = drover.as("maintainer");
    const name = "stacked-chain";
    const repo = await repoWithConfig(maintainer, name, STACKED);
    const world = () => drover.stack().sandbox.world.repo("acme", name)!;
    const pullOf = (issue: number): IssueRecord | undefined =>
      [...world().issues.values()].find((i) => i.pull && i.body?.includes(`Closes #${issue}`));
    const passed = (sha: string) => checksOn(name, sha).some((run) => run.conclusion === "success");

    const titles = ["Write the parser", "Use the parser", "Document the parser"];
    const issues = [];
    for (const title of titles) issues.push((await maintainer.rest.issues.create({ ...repo, title })).data);
    const [a, b, c] = issues as [(typeof issues)[0], (typeof issues)[0], (typeof issues)[0]];
    for (const [blocked, blocker] of [
      [b, a],
      [c, b],
    ] as const)
      await maintainer.rest.issues.addBlockedByDependency({
        ...repo,
        issue_number: blocked.number,
        issue_id: blocker.id,
      });
    for (const issue of issues)
      await maintainer.rest.issues.addLabels({ ...repo, issue_number: issue.number, labels: ["drover"] });

    /** The issue's pull request once it is in review: its check run passing, its status comment saying so. */
    const inReview = (issue: number) =>
      eventually(
        `#${issue}'s pull request in review with its check run passing`,
        () => {
          const found = pullOf(issue);
          return found?.pull && passed(found.pull.headSha) && status(name, issue).includes(REVIEW) && found;
        },
        40_000,
      );

    // Each starts while the one it is blocked by is in review, on that one's branch, its pull request into it.
    const pullA = await inReview(a.number);
    expect(pullA.pull).toMatchObject({ base: "main", merged: false });
    const pullB = await inReview(b.number);
    const pullC = await inReview(c.number);
    const branchA = pullA.pull!.head;
    const branchB = pullB.pull!.head;
    expect(pullB.pull).toMatchObject({ base: branchA, merged: false });
    expect(pullB.body).toContain(`Stacked on #${a.number} (branch \`${branchA}\`)`);
    expect(pullC.pull).toMatchObject({ base: branchB, merged: false });
    expect(pullC.body).toContain(`Stacked on #${b.number} (branch \`${branchB}\`)`);
    // The agent saw its blockers' work in its worktree; its pull request shows only its own.
    expect(await blob(name, pullB.pull!.headSha, `task-${b.number}.md`)).toBe(
      `Use the parser\nsaw: task-${a.number}.md\n`,
    );
    expect(await blob(name, pullC.pull!.headSha, `task-${c.number}.md`)).toBe(
      `Document the parser\nsaw: task-${a.number}.md task-${b.number}.md\n`,
    );
    for (const { number } of [pullA, pullB, pullC]) {
      const { data } = await maintainer.rest.pulls.get({ ...repo, pull_number: number });
      expect(data).toMatchObject({ changed_files: 1, commits: 1 });
    }

    /** The files a pull request changes against its base now, as the maintainer would see them. */
    const changedFiles = async (pull: number) => {
      const { data } = await maintainer.rest.pulls.get({ ...repo, pull_number: pull });
      const files = await git(bare(name), "diff", "--name-only", `${data.base.sha}...${data.head.sha}`);
      return { base: data.base.ref, files: files.split("\n").filter(Boolean), mergeable: data.mergeable };
    };
    /** Merges the pull request as the maintainer, at the head it was reviewed at. */
    const merge = async (pull: IssueRecord) =>
      maintainer.rest.pulls.merge({ ...repo, pull_number: pull.number, sha: pull.pull!.headSha });
    /** Waits until the pull request goes into main. */
    const intoMain = (pull: IssueRecord, what: string) =>
      eventually(what, () => world().issues.get(pull.number)!.pull!.base === "main", 30_000);

    // A merges: B goes into main, showing only its own file; C stays on B's branch.
    await merge(pullA);
    await intoMain(pullB, `#${pullB.number} retargeted to main after #${pullA.number} merged`);
    expect(await changedFiles(pullB.number)).toEqual({
      base: "main",
      files: [`task-${b.number}.md`],
      mergeable: true,
    });
    expect(world().issues.get(pullC.number)!.pull!.base).toBe(branchB);

    // B merges: C goes into main.
    await merge(pullB);
    await intoMain(pullC, `#${pullC.number} retargeted to main after #${pullB.number} merged`);
    expect(await changedFiles(pullC.number)).toEqual({
      base: "main",
      files: [`task-${c.number}.md`],
      mergeable: true,
    });

    // C merges: main has all three tasks' work, and all three issues are closed and done.
    await merge(pullC);
    const main = (await resolveRef(bare(name), "refs/heads/main"))!;
    const tree = await git(bare(name), "ls-tree", "--name-only", main);
    expect(tree.split("\n")).toEqual(
      expect.arrayContaining([`task-${a.number}.md`, `task-${b.number}.md`, `task-${c.number}.md`]),
    );
    for (const issue of issues) {
      await eventually(`#${issue.number} done`, () => {
        const record = issueOf(name, issue.number);
        return (
          record.state === "closed" &&
          !labelsOf(name, issue.number).includes("drover:review") &&
          status(name, issue.number).includes("🎉 Done")
        );
      });
    }
    // Nothing was rebuilt on the way: each pull request merged the one commit its agent made.
    for (const pull of [pullA, pullB, pullC])
      expect(world().issues.get(pull.number)!.pull).toMatchObject({
        merged: true,
        headSha: pull.pull!.headSha,
      });
  }, 90_000);
});
