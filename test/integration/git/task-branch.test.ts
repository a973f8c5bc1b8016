import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fetchBranch, fetchedRef } from "../../../src/git/fetch-branch.ts";
import { ensureMirror } from "../../../src/git/mirror.ts";
import { BranchMovedError, pushBranch, remoteBranchSha } from "../../../src/git/push.ts";
import { GitError } from "../../../src/git/run-git.ts";
import { addWorktree, pinAgentConfig, unpinAgentConfig } from "../../../src/git/worktree.ts";
import { git, makeMirrorSandbox, type GitSandbox } from "../../helpers/git-sandbox.ts";

/** Building on a task branch as it is on the remote: fetched, worked on, pushed only as a fast-forward. */

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

/** A person's commit on the remote's task branch, on top of `onto` (main's tip when not given). */
async function personPushes(file: string, onto?: string): Promise<string> {
  const clone = path.join(box.root, `clone-${file}`);
  await git(box.root, "clone", "--quiet", box.origin, clone);
  if (onto) await git(clone, "checkout", "--quiet", "-B", "work", onto);
  await writeFile(path.join(clone, file), `${file} by a person\n`);
  await git(clone, "add", "--all");
  await git(clone, "commit", "--quiet", "-m", `person adds ${file}`);
  await git(clone, "push", "--quiet", "--force", "origin", `HEAD:refs/heads/${BRANCH}`);
  return git(clone, "rev-parse", "HEAD");
}

async function commitIn(dir: string, file: string): Promise<string> {
  await writeFile(path.join(dir, file), `${file}\n`);
  await git(dir, "add", "--all");
  await git(dir, "commit", "--quiet", "-m", `add ${file}`);
  return git(dir, "rev-parse", "HEAD");
}

const fetchIt = () => fetchBranch({ mirror, cloneUrl: box.origin, branch: BRANCH, token: TOKEN });

describe("fetchBranch", () => {
  it("fetches the remote task branch into a private ref, leaving the mirror's branches alone", async () => {
    const pushed = await personPushes("person.txt");
    expect(await fetchIt()).toBe(pushed);
    expect(await git(mirror, "rev-parse", fetchedRef(BRANCH))).toBe(pushed);
    // The mirror's own refs/heads never hold drover/ branches: those belong to worktrees.
    expect(await git(mirror, "for-each-ref", "--format=%(refname)", "refs/heads/")).toBe("refs/heads/main");
    // And the mirror's next fetch (with --prune) keeps the private ref.
    await ensureMirror({
      home: box.home,
      repoFullName: "octo/widgets",
      cloneUrl: box.origin,
      base: "main",
      token: TOKEN,
    });
    expect(await git(mirror, "rev-parse", fetchedRef(BRANCH))).toBe(pushed);
  });

  it("answers null for a branch the remote does not have", async () => {
    expect(await fetchIt()).toBeNull();
  });

  it("refuses a mirror whose config was changed (the token would go where it says)", async () => {
    await git(mirror, "config", "remote.origin.url", "https://evil.example/steal.git");
    await expect(fetchIt()).rejects.toThrow(/mirror config changed/);
  });

  it("refuses a branch name git could read as something else", async () => {
    await expect(
      fetchBranch({ mirror, cloneUrl: box.origin, branch: "--upload-pack=x", token: TOKEN }),
    ).rejects.toBeInstanceOf(GitError);
  });
});

describe("a worktree started from the task branch", () => {
  it("is at the branch's head, with base's tip reported beside it", async () => {
    const pushed = await personPushes("person.txt");
    const head = await fetchIt();
    const { baseSha, startSha } = await addWorktree({
      mirror,
      path: worktree,
      branch: BRANCH,
      base: "main",
      startSha: head ?? "",
    });
    expect(startSha).toBe(pushed);
    expect(baseSha).toBe(await git(box.origin, "rev-parse", "main"));
    expect(await git(worktree, "rev-parse", "HEAD")).toBe(pushed);
    expect(await git(worktree, "symbolic-ref", "HEAD")).toBe(`refs/heads/${BRANCH}`);
  });

  it("refuses a start commit the mirror does not have", async () => {
    await expect(
      addWorktree({ mirror, path: worktree, branch: BRANCH, base: "main", startSha: "a".repeat(40) }),
    ).rejects.toThrow(/start commit a{40} not found/);
  });
});

describe("pushBranch with the commit it started from", () => {
  async function startFromBranch(): Promise<string> {
    await personPushes("person.txt");
    const head = (await fetchIt()) ?? "";
    await addWorktree({ mirror, path: worktree, branch: BRANCH, base: "main", startSha: head });
    return head;
  }

  it("pushes new commits on top: the person's commit stays an ancestor", async () => {
    const start = await startFromBranch();
    const sha = await commitIn(worktree, "agent.txt");
    await pushBranch({ mirror, cloneUrl: box.origin, branch: BRANCH, sha, token: TOKEN, expectedSha: start });
    expect(await git(box.origin, "rev-parse", BRANCH)).toBe(sha);
    expect(await git(box.origin, "merge-base", "--is-ancestor", start, sha)).toBe("");
  });

  it("refuses to push when someone pushed meanwhile, saying so, and leaves their commit", async () => {
    const start = await startFromBranch();
    const sha = await commitIn(worktree, "agent.txt");
    const theirs = await personPushes("meanwhile.txt", start);

    const push = pushBranch({
      mirror,
      cloneUrl: box.origin,
      branch: BRANCH,
      sha,
      token: TOKEN,
      expectedSha: start,
    });
    await expect(push).rejects.toBeInstanceOf(BranchMovedError);
    await expect(push).rejects.toThrow(
      new RegExp(
        `the branch \`${BRANCH}\` moved on GitHub while Drover worked on it \\(it started from ` +
          `${start.slice(0, 12)}; it is at ${theirs.slice(0, 12)} now\\).*comment \`/drover retry\``,
      ),
    );
    await expect(push).rejects.not.toThrow(TOKEN);
    expect(await remoteBranchSha({ mirror, cloneUrl: box.origin, branch: BRANCH, token: TOKEN })).toBe(
      theirs,
    );
  });

  it("refuses to push when the branch was deleted meanwhile", async () => {
    const start = await startFromBranch();
    const sha = await commitIn(worktree, "agent.txt");
    await git(box.origin, "update-ref", "-d", `refs/heads/${BRANCH}`);
    await expect(
      pushBranch({ mirror, cloneUrl: box.origin, branch: BRANCH, sha, token: TOKEN, expectedSha: start }),
    ).rejects.toThrow(/it was deleted\)/);
    expect(await remoteBranchSha({ mirror, cloneUrl: box.origin, branch: BRANCH })).toBeNull();
  });

  it("without the commit it started from, force-pushes as before", async () => {
    await personPushes("person.txt");
    await addWorktree({ mirror, path: worktree, branch: BRANCH, base: "main" });
    const sha = await commitIn(worktree, "agent.txt");
    await pushBranch({ mirror, cloneUrl: box.origin, branch: BRANCH, sha, token: TOKEN });
    expect(await git(box.origin, "rev-parse", BRANCH)).toBe(sha);
  });
});

describe("agent configuration on a worktree started from the task branch", () => {
  it("runs the agent with the base's, and commits the branch's own back unless the agent changed it", async () => {
    // The task branch carries configuration of its own: a changed settings file and an MCP server.
    const clone = path.join(box.root, "clone-config");
    await git(box.root, "clone", "--quiet", box.origin, clone);
    await mkdir(path.join(clone, ".claude"));
    await writeFile(path.join(clone, ".claude", "settings.json"), '{"branch":true}\n');
    await writeFile(path.join(clone, ".mcp.json"), '{"mcpServers":{}}\n');
    await git(clone, "add", "--all");
    await git(clone, "commit", "--quiet", "-m", "branch config");
    await git(clone, "push", "--quiet", "origin", `HEAD:refs/heads/${BRANCH}`);
    const head = (await fetchIt()) ?? "";
    const { baseSha, startSha } = await addWorktree({
      mirror,
      path: worktree,
      branch: BRANCH,
      base: "main",
      startSha: head,
    });

    const pinned = await pinAgentConfig(worktree, baseSha);
    expect(pinned).toEqual([".claude", ".mcp.json"]);
    await expect(stat(path.join(worktree, ".claude"))).rejects.toThrow();
    // The agent changes .mcp.json itself, and leaves .claude alone.
    await writeFile(path.join(worktree, ".mcp.json"), '{"mcpServers":{"agent":{}}}\n');
    await writeFile(path.join(worktree, "work.txt"), "work\n");

    await unpinAgentConfig(worktree, { baseSha, startSha, pinned });
    expect(await readFile(path.join(worktree, ".claude", "settings.json"), "utf8")).toBe('{"branch":true}\n');
    expect(await readFile(path.join(worktree, ".mcp.json"), "utf8")).toBe('{"mcpServers":{"agent":{}}}\n');
    await git(worktree, "add", "--all");
    expect((await git(worktree, "diff", "--cached", "--name-only", startSha)).split("\n").sort()).toEqual([
      ".mcp.json",
      "work.txt",
    ]);
  });
});
