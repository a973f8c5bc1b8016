import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { commitAll } from "../../../src/git/commit.ts";
import { fetchBranch } from "../../../src/git/fetch-branch.ts";
import { branchTip, commitMerge, mergeInto } from "../../../src/git/merge.ts";
import {
  deepenToMergeBase,
  ensureMirror,
  mirrorStatePath,
  readMirrorState,
} from "../../../src/git/mirror.ts";
import { pushBranch } from "../../../src/git/push.ts";
import { addWorktree } from "../../../src/git/worktree.ts";
import { git, makeGitSandbox, type GitSandbox } from "../../helpers/git-sandbox.ts";

const TOKEN = "ghs_SECRET123";
const REPO = "octo/widgets";
const BRANCH = "drover/12-old-fork";
const BOT = { name: "drover[bot]", email: "123+drover[bot]@users.noreply.github.com" };

let box: GitSandbox;
let forkPoint: string;
beforeEach(async () => {
  box = await makeGitSandbox();
  // main: README, then six more commits; the task branch forked at the second, long before the tip.
  forkPoint = await box.commitToOrigin("one.txt", "1\n");
  const scratch = path.join(box.root, "fork");
  await git(box.root, "clone", "--quiet", box.origin, scratch);
  await git(scratch, "checkout", "--quiet", "-b", BRANCH, forkPoint);
  await writeFile(path.join(scratch, "feature.txt"), "feature\n");
  await git(scratch, "add", "--all");
  await git(scratch, "commit", "--quiet", "-m", "feature");
  await git(scratch, "push", "--quiet", "origin", BRANCH);
  for (let n = 2; n <= 7; n += 1) await box.commitToOrigin(`file-${n}.txt`, `${n}\n`);
});
afterEach(async () => {
  await box.cleanup();
});

const mirrorOf = (depth?: number) =>
  ensureMirror({
    home: box.home,
    repoFullName: REPO,
    cloneUrl: box.origin,
    base: "main",
    token: TOKEN,
    ...(depth === undefined ? {} : { depth }),
  });

describe("a shallow mirror", () => {
  it("fetches only the base branch's last commits when made, then plain fetches", async () => {
    const mirror = await mirrorOf(3);
    expect(await git(mirror, "rev-parse", "--is-shallow-repository")).toBe("true");
    expect(await git(mirror, "rev-list", "--count", "refs/heads/main")).toBe("3");
    // Only the base branch: no task branch, no other branch of origin's.
    expect(await git(mirror, "for-each-ref", "--format=%(refname)", "refs/heads/")).toBe("refs/heads/main");
    const state = await readMirrorState(mirror);
    expect(state?.branches).toEqual({ main: await git(box.origin, "rev-parse", "main") });
    expect(JSON.parse(await readFile(mirrorStatePath(mirror), "utf8"))).toEqual(state);

    const newer = await box.commitToOrigin("file-8.txt", "8\n");
    await mirrorOf(3);
    expect(await git(mirror, "rev-parse", "refs/heads/main")).toBe(newer);
    // The history grows from the first fetch: nothing was cut.
    expect(await git(mirror, "rev-list", "--count", "refs/heads/main")).toBe("4");
    expect(Date.parse((await readMirrorState(mirror))?.fetchedAt ?? "")).toBeGreaterThan(
      Date.parse(state?.fetchedAt ?? ""),
    );
  });

  it("fetches nothing when the caller says the mirror is new enough", async () => {
    const mirror = await mirrorOf(3);
    const before = await git(mirror, "rev-parse", "refs/heads/main");
    await box.commitToOrigin("file-8.txt", "8\n");
    await ensureMirror({
      home: box.home,
      repoFullName: REPO,
      cloneUrl: box.origin,
      base: "main",
      needsFetch: () => false,
    });
    expect(await git(mirror, "rev-parse", "refs/heads/main")).toBe(before);
  });

  it("merges the base into a task branch forked before its shallow history, and pushes the merge", async () => {
    const mirror = await mirrorOf(2);
    const head = await fetchBranch({ mirror, cloneUrl: box.origin, branch: BRANCH, token: TOKEN });
    expect(head).toBe(await git(box.origin, "rev-parse", BRANCH));
    // The fork point came with the branch, but the base's history stops short of it: deepened.
    await deepenToMergeBase({
      home: box.home,
      repoFullName: REPO,
      cloneUrl: box.origin,
      base: "main",
      token: TOKEN,
      depth: 2,
      commit: head ?? "",
    });
    expect(await git(mirror, "merge-base", head ?? "", "refs/heads/main")).toBe(forkPoint);

    const worktree = path.join(box.home, "worktrees", "12");
    await addWorktree({ mirror, path: worktree, branch: BRANCH, base: "main", startSha: head ?? "" });
    const theirs = await branchTip(mirror, "main");
    expect(await mergeInto({ worktree, theirs, author: BOT })).toEqual({ kind: "clean" });
    const merged = await commitMerge({ worktree, message: `Merge main into ${BRANCH}`, author: BOT });
    await pushBranch({
      mirror,
      cloneUrl: box.origin,
      branch: BRANCH,
      sha: merged,
      token: TOKEN,
      expectedSha: head ?? "",
    });
    expect(await git(box.origin, "rev-parse", BRANCH)).toBe(merged);
    expect(await git(box.origin, "rev-list", "--parents", "-n", "1", BRANCH)).toBe(
      `${merged} ${head} ${theirs}`,
    );
    await git(box.origin, "fsck", "--no-progress", "--connectivity-only");
  });

  it("pushes a new task branch made from the shallow base", async () => {
    const mirror = await mirrorOf(2);
    const worktree = path.join(box.home, "worktrees", "13");
    const branch = "drover/13-new";
    await addWorktree({ mirror, path: worktree, branch, base: "main" });
    await writeFile(path.join(worktree, "new.txt"), "new\n");
    const made = await commitAll({ worktree, message: "new", author: BOT, trailers: [] });
    if (!made.changed) throw new Error("nothing committed");
    const sha = made.sha;
    await pushBranch({ mirror, cloneUrl: box.origin, branch, sha, token: TOKEN });
    expect(await git(box.origin, "rev-parse", branch)).toBe(sha);
    await git(box.origin, "fsck", "--no-progress", "--connectivity-only");
  });
});
