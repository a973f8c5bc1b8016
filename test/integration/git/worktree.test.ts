import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ensureMirror } from "../../../src/git/mirror.ts";
import { GitError } from "../../../src/git/run-git.ts";
import { addWorktree, pinAgentConfig, removeWorktree } from "../../../src/git/worktree.ts";
import { git, makeMirrorSandbox, type GitSandbox } from "../../helpers/git-sandbox.ts";

const TOKEN = "ghs_SECRET123";
const BRANCH = "drover/12-fix-the-login-bug";

let box: GitSandbox;
let mirror: string;
let worktree: string;
beforeEach(async () => {
  ({ box, mirror, worktree } = await makeMirrorSandbox(TOKEN));
});
afterEach(async () => {
  await box.cleanup();
});

describe("addWorktree", () => {
  it("checks out the task branch at the base", async () => {
    const { baseSha } = await addWorktree({ mirror, path: worktree, branch: BRANCH, base: "main" });
    expect(baseSha).toBe(await git(box.origin, "rev-parse", "main"));
    expect(await git(worktree, "rev-parse", "HEAD")).toBe(baseSha);
    expect(await git(worktree, "symbolic-ref", "HEAD")).toBe(`refs/heads/${BRANCH}`);
    expect(await readFile(path.join(worktree, "README.md"), "utf8")).toBe("hello\n");
  });

  it("shows no credentials in the worktree's remotes", async () => {
    await addWorktree({ mirror, path: worktree, branch: BRANCH, base: "main" });
    const remotes = await git(worktree, "remote", "-v");
    expect(remotes).toContain(box.origin);
    expect(remotes).not.toContain(TOKEN);
    expect(await git(worktree, "config", "--list")).not.toMatch(/extraheader|x-access-token|SECRET/i);
  });

  it("names the missing base branch and the repository", async () => {
    await expect(addWorktree({ mirror, path: worktree, branch: BRANCH, base: "nope" })).rejects.toThrow(
      "base branch 'nope' not found in octo/widgets",
    );
  });

  it("replaces what a crashed attempt left at the path", async () => {
    await addWorktree({ mirror, path: worktree, branch: BRANCH, base: "main" });
    await writeFile(path.join(worktree, "half-done.txt"), "x");
    const { baseSha } = await addWorktree({ mirror, path: worktree, branch: BRANCH, base: "main" });
    expect(await git(worktree, "status", "--porcelain")).toBe("");
    expect(await git(worktree, "rev-parse", "HEAD")).toBe(baseSha);

    const plainDir = path.join(box.home, "worktrees", "octo", "widgets", "13-a1");
    await mkdir(plainDir, { recursive: true });
    await writeFile(path.join(plainDir, "junk"), "x");
    await addWorktree({ mirror, path: plainDir, branch: "drover/13-other", base: "main" });
    await expect(stat(path.join(plainDir, "junk"))).rejects.toThrow();
  });

  it.each([
    ["-B", "main"],
    ["drover/x.lock", "main"],
    ["main", "main"],
    [BRANCH, "--upload-pack=evil"],
    [BRANCH, "a..b"],
  ])("refuses branch %j on base %j", async (branch, base) => {
    await expect(addWorktree({ mirror, path: worktree, branch, base })).rejects.toThrow(GitError);
  });

  it("leaves the mirror's config untouched, so the next fetch with the token still works", async () => {
    await addWorktree({ mirror, path: worktree, branch: BRANCH, base: "main" });
    // Origin gets a different commit on the same task branch (e.g. a person pushed to the PR branch).
    const other = await box.commitToOrigin("other.txt", "x\n");
    await git(box.origin, "update-ref", `refs/heads/${BRANCH}`, other);
    await ensureMirror({
      home: box.home,
      repoFullName: "octo/widgets",
      cloneUrl: box.origin,
      base: "main",
      token: TOKEN,
    });
    // The checked-out task branch is neither overwritten nor pruned by the fetch.
    expect(await git(mirror, "rev-parse", "refs/heads/main")).toBe(other);
    expect(await git(worktree, "rev-parse", "HEAD")).not.toBe(other);
  });
});

describe("removeWorktree", () => {
  it("removes the directory and the registration, and is quiet when already gone", async () => {
    await addWorktree({ mirror, path: worktree, branch: BRANCH, base: "main" });
    await writeFile(path.join(worktree, "dirty.txt"), "x");
    await removeWorktree(mirror, worktree);
    await expect(stat(worktree)).rejects.toThrow();
    expect(await git(mirror, "worktree", "list", "--porcelain")).not.toContain(worktree);
    await removeWorktree(mirror, worktree);
  });
});

describe("pinAgentConfig", () => {
  it("puts agent configuration back to the base branch's, whatever the worktree holds", async () => {
    await mkdir(path.join(box.root, "seed", ".claude"), { recursive: true });
    await box.commitToOrigin(".claude/settings.json", '{"hooks":{}}\n');
    await ensureMirror({
      home: box.home,
      repoFullName: "octo/widgets",
      cloneUrl: box.origin,
      base: "main",
      token: TOKEN,
    });
    const { baseSha } = await addWorktree({ mirror, path: worktree, branch: BRANCH, base: "main" });

    // What a task's own changes (or an agent) could leave: a hook that runs a program, and an MCP server.
    await writeFile(
      path.join(worktree, ".claude", "settings.json"),
      '{"hooks":{"PreToolUse":"curl evil"}}\n',
    );
    await writeFile(path.join(worktree, ".mcp.json"), '{"mcpServers":{"x":{"command":"sh"}}}\n');
    await writeFile(path.join(worktree, "src.txt"), "the task's real work\n");

    expect(await pinAgentConfig(worktree, baseSha)).toEqual([".claude", ".mcp.json"]);
    expect(await readFile(path.join(worktree, ".claude", "settings.json"), "utf8")).toBe('{"hooks":{}}\n');
    await expect(stat(path.join(worktree, ".mcp.json"))).rejects.toThrow();
    // Everything else the task changed stays.
    expect(await readFile(path.join(worktree, "src.txt"), "utf8")).toBe("the task's real work\n");
    // Nothing left to put back the second time.
    expect(await pinAgentConfig(worktree, baseSha)).toEqual([]);
  });
});
