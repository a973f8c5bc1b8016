import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { commitFiles } from "../../../../src/sandbox/git/commit-files.ts";
import { changedFiles, commitLog } from "../../../../src/sandbox/git/history.ts";
import { isMergeable, mergeBranches } from "../../../../src/sandbox/git/merge.ts";
import { initBareRepository, listRefs, readBlob, resolveRef } from "../../../../src/sandbox/git/refs.ts";
import { GitError } from "../../../../src/git/run-git.ts";
import { git } from "../../../helpers/git-sandbox.ts";

const ANN = { name: "Ann", email: "ann@example.com" };
const BOT = { name: "Sandbox", email: "sandbox@example.com" };

let root: string;
let bare: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "drover-bare-"));
  bare = path.join(root, "acme", "widgets.git");
  await initBareRepository(bare, { defaultBranch: "main" });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function commit(branch: string, files: Record<string, string>, message = `change ${branch}`) {
  return commitFiles(bare, { branch, files, message, author: ANN });
}

function parents(sha: string): Promise<string[]> {
  return git(bare, "rev-list", "--parents", "-n1", sha).then((line) => line.split(" ").slice(1));
}

async function text(ref: string, file: string): Promise<string | undefined> {
  return (await readBlob(bare, ref, file))?.toString("utf8");
}

describe("initBareRepository", () => {
  it("makes an empty bare repository, no template files, HEAD naming the default branch", async () => {
    expect(await git(bare, "rev-parse", "--is-bare-repository")).toBe("true");
    expect(await git(bare, "symbolic-ref", "HEAD")).toBe("refs/heads/main");
    expect((await readdir(bare)).sort()).toEqual(["HEAD", "config", "objects", "refs"]);
    expect(await listRefs(bare)).toEqual(new Map());
    expect(await resolveRef(bare, "main")).toBeNull();
  });

  it("rejects an invalid default branch", async () => {
    await expect(initBareRepository(path.join(root, "x.git"), { defaultBranch: "a..b" })).rejects.toThrow(
      GitError,
    );
  });
});

describe("commitFiles and readBlob", () => {
  it("makes the first commit, then commits on top of the existing tree", async () => {
    const first = await commit("main", { "README.md": "hello\n", "src/app/index.ts": "export {};\n" });
    expect(await parents(first)).toEqual([]);
    expect(await listRefs(bare)).toEqual(new Map([["refs/heads/main", first]]));

    const second = await commit("main", { "README.md": "hello again\n", "docs/ünïcödé.md": "✓\n" });
    expect(await parents(second)).toEqual([first]);
    expect(await resolveRef(bare, "refs/heads/main")).toBe(second);
    expect(await resolveRef(bare, "main")).toBe(second);
    expect(await text("main", "README.md")).toBe("hello again\n");
    expect(await text("main", "src/app/index.ts")).toBe("export {};\n");
    expect(await text("main", "docs/ünïcödé.md")).toBe("✓\n");
    expect(await text(first, "README.md")).toBe("hello\n");
    expect(await git(bare, "log", "-1", "--format=%an <%ae> %cn <%ce>|%s", second)).toBe(
      "Ann <ann@example.com> Ann <ann@example.com>|change main",
    );
  });

  it("starts a new branch from the default branch", async () => {
    const base = await commit("main", { "a.txt": "a\n" });
    const feature = await commit("feature/x", { "b.txt": "b\n" });
    expect(await parents(feature)).toEqual([base]);
    expect(await text("feature/x", "a.txt")).toBe("a\n");
    expect(await resolveRef(bare, "main")).toBe(base);
  });

  it("replaces a file by a directory of the same name", async () => {
    await commit("main", { docs: "a file\n" });
    await commit("main", { "docs/guide.md": "now a directory\n" });
    expect(await text("main", "docs/guide.md")).toBe("now a directory\n");
    expect(await readBlob(bare, "main", "docs")).toBeNull();
  });

  it("keeps bytes exactly, line endings and NUL included", async () => {
    await commit("main", { "crlf.txt": "a\r\nb\r\n", "bin.dat": "x\0y" });
    expect(await readBlob(bare, "main", "crlf.txt")).toEqual(Buffer.from("a\r\nb\r\n"));
    expect(await readBlob(bare, "main", "bin.dat")).toEqual(Buffer.from([0x78, 0, 0x79]));
  });

  it("reads null for a missing ref or path, or a directory", async () => {
    await commit("main", { "src/a.ts": "a\n" });
    expect(await readBlob(bare, "nope", "src/a.ts")).toBeNull();
    expect(await readBlob(bare, "main", "src/b.ts")).toBeNull();
    expect(await readBlob(bare, "main", "src")).toBeNull();
  });

  it("rejects paths that step outside, look like options or name .git", async () => {
    await commit("main", { "a.txt": "a\n" });
    for (const bad of ["../a.txt", "src/../a.txt", "-a.txt", "/a.txt", "a//b", "./a.txt", "", "a\nb"]) {
      await expect(readBlob(bare, "main", bad), bad).rejects.toThrow(/invalid file path/);
    }
    await expect(commit("main", { ".git/config": "x" })).rejects.toThrow(/invalid file path/);
    await expect(commit("main", { "../x": "x" })).rejects.toThrow(/invalid file path/);
  });

  it("rejects invalid branch and ref names", async () => {
    for (const bad of ["-x", "a..b", "x.lock", "a b", "a:b", "@", "", "a/", "x^{tree}"]) {
      await expect(commit(bad, { "a.txt": "a\n" }), bad).rejects.toThrow(/invalid branch name/);
    }
    await expect(resolveRef(bare, "--all")).rejects.toThrow(/invalid ref name/);
    await expect(readBlob(bare, "main~1", "a.txt")).rejects.toThrow(/invalid ref name/);
  });

  it("never loses a commit to a concurrent update of the branch", async () => {
    await commit("main", { "start.txt": "0\n" });
    const attempts = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => commit("main", { [`f${i}.txt`]: `${i}\n` })),
    );
    const made = attempts.flatMap((a) => (a.status === "fulfilled" ? [a.value] : []));
    expect(made.length).toBeGreaterThan(0);
    for (const attempt of attempts) {
      if (attempt.status === "rejected") {
        expect(attempt.reason).toBeInstanceOf(GitError);
        expect((attempt.reason as GitError).message).toMatch(
          /refs\/heads\/main moved while it was being updated/,
        );
      }
    }
    const tip = await resolveRef(bare, "main");
    for (const sha of made) await git(bare, "merge-base", "--is-ancestor", sha, tip ?? "");
  });
});

describe("mergeBranches", () => {
  let base: string;
  beforeEach(async () => {
    base = await commit("main", { "a.txt": "a\n", "b.txt": "b\n" });
  });
  const merge = (head: string, mergeBase = "main") =>
    mergeBranches(bare, { base: mergeBase, head, message: `Merge ${head}`, committer: BOT });

  it("makes a merge commit with both changes and moves the base branch", async () => {
    const feature = await commit("feature", { "b.txt": "b from feature\n" });
    const mainTip = await commit("main", { "a.txt": "a from main\n" });
    expect(await isMergeable(bare, "main", "feature")).toBe(true);

    const result = await merge("feature");
    if (!result.merged) throw new Error(`expected a merge, got ${result.reason}`);
    expect(await parents(result.sha)).toEqual([mainTip, feature]);
    expect(await resolveRef(bare, "main")).toBe(result.sha);
    expect(await text("main", "a.txt")).toBe("a from main\n");
    expect(await text("main", "b.txt")).toBe("b from feature\n");
    expect(await git(bare, "log", "-1", "--format=%cn <%ce>|%s", result.sha)).toBe(
      "Sandbox <sandbox@example.com>|Merge feature",
    );
  });

  it("makes a merge commit even when the base could fast-forward", async () => {
    const feature = await commit("feature", { "c.txt": "c\n" });
    const result = await merge("feature");
    if (!result.merged) throw new Error(`expected a merge, got ${result.reason}`);
    expect(await parents(result.sha)).toEqual([base, feature]);
  });

  it("squashes into one commit whose only parent is the base", async () => {
    await commit("feature", { "c.txt": "c\n" });
    await commit("feature", { "d.txt": "d\n" });
    const mainTip = await commit("main", { "a.txt": "a from main\n" });
    const result = await mergeBranches(bare, {
      base: "main",
      head: "feature",
      message: "Feature (#1)",
      committer: BOT,
      squash: true,
    });
    if (!result.merged) throw new Error(`expected a merge, got ${result.reason}`);
    expect(await parents(result.sha)).toEqual([mainTip]);
    expect(await text("main", "c.txt")).toBe("c\n");
    expect(await text("main", "d.txt")).toBe("d\n");
    expect(await text("main", "a.txt")).toBe("a from main\n");
  });

  it("reports a conflict without moving the base branch", async () => {
    await commit("feature", { "a.txt": "feature's a\n" });
    const mainTip = await commit("main", { "a.txt": "main's a\n" });
    const refsBefore = await listRefs(bare);
    expect(await isMergeable(bare, "main", "feature")).toBe(false);

    expect(await merge("feature")).toEqual({
      merged: false,
      reason: "conflict",
      detail: "merge conflict in a.txt",
    });
    expect(await resolveRef(bare, "main")).toBe(mainTip);
    expect(await listRefs(bare)).toEqual(refsBefore);
  });

  it("reports a head already contained in the base", async () => {
    await commit("feature", { "c.txt": "c\n" });
    expect(await merge("feature")).toMatchObject({ merged: true });
    const tip = await resolveRef(bare, "main");
    expect(await merge("feature")).toMatchObject({ merged: false, reason: "up-to-date" });
    expect(await isMergeable(bare, "main", "feature")).toBe(true);
    expect(await resolveRef(bare, "main")).toBe(tip);
  });

  it("reports a missing branch", async () => {
    expect(await merge("nope")).toEqual({
      merged: false,
      reason: "missing-branch",
      detail: "branch 'nope' does not exist",
    });
    expect(await merge("main", "nope")).toMatchObject({ merged: false, reason: "missing-branch" });
    expect(await isMergeable(bare, "main", "nope")).toBe(false);
  });

  it("rejects invalid branch names and identities", async () => {
    for (const bad of ["-x", "a..b", "x.lock", "refs/heads/a b", "a~1", "HEAD"]) {
      await expect(merge(bad), bad).rejects.toThrow(/invalid branch name/);
      await expect(merge("main", bad), bad).rejects.toThrow(/invalid branch name/);
    }
    await expect(
      mergeBranches(bare, { base: "main", head: "main", message: "m", committer: { name: "", email: "x" } }),
    ).rejects.toThrow(GitError);
  });
});

describe("changedFiles", () => {
  it("counts lines from the merge base, binary files as changed with no lines", async () => {
    await commit("main", { "a.txt": "1\n2\n3\n" });
    await commit("feature", { "a.txt": "1\nTWO\n3\n4\n", "new.txt": "x\ny\n", "bin.dat": "\0\x01\x02" });
    await commit("main", { "later-on-main.txt": "not part of the diff\n" });
    expect(await changedFiles(bare, "main", "feature")).toEqual({
      additions: 4,
      deletions: 1,
      changedFiles: 3,
    });
    expect(await changedFiles(bare, "feature", "feature")).toEqual({
      additions: 0,
      deletions: 0,
      changedFiles: 0,
    });
    await expect(changedFiles(bare, "main", "nope")).rejects.toThrow(/unknown ref 'nope'/);
  });
});

describe("commitLog", () => {
  it("lists the commits of a ref update, oldest first, with the paths each changes", async () => {
    const first = await commit("main", { "a.txt": "a\n", "b c.txt": "b\n" }, "first\n\nwith a body");
    const second = await commit("main", { "a.txt": "A\n", "new/ü.txt": "n\n" }, "second");
    await git(bare, "update-ref", "refs/heads/tmp", second);
    const third = await commit("feature", { "f.txt": "f\n" }, "third");
    const merged = await mergeBranches(bare, {
      base: "main",
      head: "feature",
      message: "merge",
      committer: BOT,
    });
    if (!merged.merged) throw new Error("expected a merge");

    const log = await commitLog(bare, first, merged.sha);
    expect(log.map((c) => c.message)).toEqual(["second", "third", "merge"]);
    expect(log[0]).toMatchObject({
      sha: second,
      parents: [first],
      author: ANN,
      committer: ANN,
      added: ["new/ü.txt"],
      removed: [],
      modified: ["a.txt"],
    });
    expect(log[0]?.tree).toBe(await git(bare, "rev-parse", `${second}^{tree}`));
    expect(log[0]?.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/);
    // A merge lists what it brings to the first parent.
    expect(log[2]).toMatchObject({ parents: [second, third], added: ["f.txt"], committer: BOT });

    const created = await commitLog(bare, null, first);
    expect(created).toEqual([
      expect.objectContaining({ sha: first, message: "first\n\nwith a body", added: ["a.txt", "b c.txt"] }),
    ]);
    expect(await commitLog(bare, second, second)).toEqual([]);
    await expect(commitLog(bare, "--all", second)).rejects.toThrow(/invalid revision/);
  });
});
