import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  commitMerge,
  filesWithMarkers,
  mergedTree,
  mergeInProgress,
  mergeInto,
  pullRequestOf,
  stageAll,
  unmergedPaths,
} from "../../../src/git/merge.ts";
import { addWorktree } from "../../../src/git/worktree.ts";
import { git, makeMirrorSandbox, type GitSandbox } from "../../helpers/git-sandbox.ts";

const BRANCH = "drover/7-greet";
const BOT = { name: "drover[bot]", email: "123+drover[bot]@users.noreply.github.com" };

let box: GitSandbox;
let mirror: string;
let worktree: string;
beforeEach(async () => {
  ({ box, mirror, worktree } = await makeMirrorSandbox("ghs_SECRET123"));
  await addWorktree({ mirror, path: worktree, branch: BRANCH, base: "main" });
});
afterEach(async () => {
  await box.cleanup();
});

/** A commit on the worktree's branch writing `file`. */
async function commitHere(file: string, content: string): Promise<string> {
  await writeFile(path.join(worktree, file), content);
  await git(worktree, "add", "--all");
  await git(worktree, "commit", "--quiet", "-m", `branch writes ${file}`);
  return git(worktree, "rev-parse", "HEAD");
}

/** A commit off main's tip, in the mirror's objects (main itself stays: a merge needs only the sha). */
async function commitOnMain(file: string, content: string): Promise<string> {
  const scratch = path.join(box.root, `scratch-${file}`);
  await git(mirror, "worktree", "add", "--quiet", "--detach", scratch, "main");
  await writeFile(path.join(scratch, file), content);
  await git(scratch, "add", "--all");
  await git(scratch, "commit", "--quiet", "-m", `main writes ${file}`);
  const sha = await git(scratch, "rev-parse", "HEAD");
  await git(mirror, "worktree", "remove", "--force", scratch);
  return sha;
}

describe("mergeInto and commitMerge", () => {
  it("says up to date when the branch holds the commit already", async () => {
    const main = await git(mirror, "rev-parse", "main");
    await commitHere("A.md", "a\n");
    expect(await mergeInto({ worktree, theirs: main, author: BOT })).toEqual({ kind: "up-to-date" });
  });

  it("merges cleanly and commits a merge with both parents as the bot", async () => {
    const ours = await commitHere("A.md", "a\n");
    const theirs = await commitOnMain("B.md", "b\n");
    expect(await mergeInto({ worktree, theirs, author: BOT })).toEqual({ kind: "clean" });
    expect(await mergeInProgress(worktree)).toBe(true);
    const sha = await commitMerge({ worktree, message: `Merge main into ${BRANCH}`, author: BOT });
    expect(await git(worktree, "rev-list", "--parents", "-n", "1", sha)).toBe(`${sha} ${ours} ${theirs}`);
    expect(await git(worktree, "log", "-1", "--format=%s|%an|%cn")).toBe(
      `Merge main into ${BRANCH}|${BOT.name}|${BOT.name}`,
    );
    expect(await mergeInProgress(worktree)).toBe(false);
  });

  it("stops on conflicts, naming the files, markers in place until resolved", async () => {
    const ours = await commitHere("SHARED.md", "ours\n");
    const theirs = await commitOnMain("SHARED.md", "theirs\n");
    expect(await mergeInto({ worktree, theirs, author: BOT })).toEqual({
      kind: "conflicts",
      files: ["SHARED.md"],
    });
    const sides = { ours, theirs };
    expect(await filesWithMarkers(worktree, ["SHARED.md"], sides)).toEqual(["SHARED.md"]);
    // The tree git would leave holds the markers too, without touching the worktree.
    const tree = await mergedTree(worktree, ours, theirs);
    expect(await git(worktree, "show", `${tree}:SHARED.md`)).toContain("<<<<<<<");

    await writeFile(path.join(worktree, "SHARED.md"), "ours\ntheirs\n");
    expect(await unmergedPaths(worktree)).toEqual(["SHARED.md"]);
    await stageAll(worktree);
    expect(await unmergedPaths(worktree)).toEqual([]);
    expect(await filesWithMarkers(worktree, ["SHARED.md"], sides)).toEqual([]);
  });

  it("counts a lone ======= line as a marker only when neither side had it", async () => {
    const ours = await commitHere("TITLE.md", "Title\n=======\n\nours\n");
    const theirs = await commitOnMain("TITLE.md", "Title\n=======\n\ntheirs\n");
    await mergeInto({ worktree, theirs, author: BOT });
    await writeFile(path.join(worktree, "TITLE.md"), "Title\n=======\n\nours and theirs\n");
    expect(await filesWithMarkers(worktree, ["TITLE.md"], { ours, theirs })).toEqual([]);
    await writeFile(path.join(worktree, "TITLE.md"), "Title\n=======\n\nours\n=======\ntheirs\n");
    expect(await filesWithMarkers(worktree, ["TITLE.md"], { ours, theirs })).toEqual(["TITLE.md"]);
  });
});

describe("pullRequestOf", () => {
  it("reads the pull request of GitHub's merge commits and of squash merges", () => {
    expect(pullRequestOf("Merge pull request #12 from octo-org/drover/3-x")).toBe(12);
    expect(pullRequestOf("Add a greeting (#34)")).toBe(34);
    expect(pullRequestOf("Fix #56 in the parser")).toBeUndefined();
    expect(pullRequestOf("Merge branch 'main' into drover/3-x")).toBeUndefined();
  });
});
