import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { boundDiffStat, commitAll, MAX_DIFF_STAT_CHARS } from "../../../src/git/commit.ts";
import { pushBranch } from "../../../src/git/push.ts";
import { addWorktree } from "../../../src/git/worktree.ts";
import { git, makeMirrorSandbox, type GitSandbox } from "../../helpers/git-sandbox.ts";

const TOKEN = "ghs_SECRET123";
const BRANCH = "drover/12-fix-the-login-bug";
const BOT = { name: "drover[bot]", email: "123+drover[bot]@users.noreply.github.com" };
const TRAILERS = ["Co-authored-by: Ann <1+ann@users.noreply.github.com>", "Drover-Task: octo/widgets#12"];

let box: GitSandbox;
let mirror: string;
let worktree: string;
let baseSha: string;
beforeEach(async () => {
  ({ box, mirror, worktree } = await makeMirrorSandbox(TOKEN));
  ({ baseSha } = await addWorktree({ mirror, path: worktree, branch: BRANCH, base: "main" }));
});
afterEach(async () => {
  await box.cleanup();
});

const commit = () =>
  commitAll({ worktree, message: "Fix the login bug", author: BOT, trailers: TRAILERS, baseSha });

describe("commitAll", () => {
  it("commits every change as the bot, with the trailers", async () => {
    await writeFile(path.join(worktree, "login.ts"), "export {};\n");
    await rm(path.join(worktree, "README.md"));
    const result = await commit();
    if (!result.changed) throw new Error("expected a commit");
    expect(await git(worktree, "rev-parse", "HEAD")).toBe(result.sha);
    expect(await git(worktree, "log", "-1", "--format=%an <%ae>|%cn <%ce>")).toBe(
      `${BOT.name} <${BOT.email}>|${BOT.name} <${BOT.email}>`,
    );
    expect(await git(worktree, "log", "-1", "--format=%s")).toBe("Fix the login bug");
    expect(await git(worktree, "log", "-1", "--format=%(trailers)")).toBe(TRAILERS.join("\n"));
    expect(await git(worktree, "log", "-1", "--format=%(trailers:key=Co-authored-by,valueonly)")).toBe(
      "Ann <1+ann@users.noreply.github.com>",
    );
    expect(result.diffStat).toMatch(/login\.ts/);
    expect(result.diffStat).toMatch(/README\.md/);
    expect(result.diffStat).toMatch(/2 files changed/);
    expect(await git(worktree, "status", "--porcelain")).toBe("");
  });

  it("reports no change for an untouched worktree", async () => {
    expect(await commit()).toEqual({ changed: false });
    expect(await git(worktree, "rev-parse", "HEAD")).toBe(baseSha);
  });

  it("counts commits the agent made itself", async () => {
    await writeFile(path.join(worktree, "agent.txt"), "by the agent\n");
    await git(worktree, "add", "agent.txt");
    await git(worktree, "commit", "--quiet", "-m", "agent commit");
    const agentSha = await git(worktree, "rev-parse", "HEAD");

    const result = await commit();
    expect(result).toEqual({ changed: true, sha: agentSha, diffStat: expect.stringMatching(/agent\.txt/) });

    await writeFile(path.join(worktree, "later.txt"), "left uncommitted\n");
    const second = await commit();
    if (!second.changed) throw new Error("expected a commit");
    expect(await git(worktree, "rev-parse", "HEAD^")).toBe(agentSha);
    expect(second.diffStat).toMatch(/agent\.txt[\s\S]*later\.txt|later\.txt[\s\S]*agent\.txt/);
  });

  it("does not run the repository's hooks", async () => {
    const hook = path.join(mirror, "hooks", "pre-commit");
    await mkdir(path.dirname(hook), { recursive: true });
    await writeFile(hook, "#!/bin/sh\nexit 1\n", { mode: 0o755 });
    await writeFile(path.join(worktree, "x.txt"), "x\n");
    await git(worktree, "add", "x.txt");
    // The hook is live: a plain commit fails...
    await expect(git(worktree, "commit", "--quiet", "-m", "by hand")).rejects.toThrow(
      /pre-commit|exit code 1/,
    );
    // ...but not Drover's.
    expect((await commit()).changed).toBe(true);
  });

  it("keeps a long diff stat within bounds, with its summary line", () => {
    const lines = Array.from({ length: 500 }, (_, i) => ` file-${i}.txt | 1 +`);
    const stat = [...lines, " 500 files changed, 500 insertions(+)"].join("\n");
    const bounded = boundDiffStat(stat);
    expect(bounded.length).toBeLessThanOrEqual(MAX_DIFF_STAT_CHARS);
    expect(bounded).toMatch(/^ file-0\.txt/);
    expect(bounded.endsWith("\n ...\n 500 files changed, 500 insertions(+)")).toBe(true);
  });
});

describe("pushBranch", () => {
  it("puts the commit on origin's branch, force-pushing over what was there", async () => {
    await writeFile(path.join(worktree, "a.txt"), "a\n");
    const first = await commit();
    if (!first.changed) throw new Error("expected a commit");
    await pushBranch({ mirror, cloneUrl: box.origin, branch: BRANCH, sha: first.sha, token: TOKEN });
    expect(await git(box.origin, "rev-parse", `refs/heads/${BRANCH}`)).toBe(first.sha);

    // A rework attempt starts over from base: not a fast-forward.
    await addWorktree({ mirror, path: worktree, branch: BRANCH, base: "main" });
    await writeFile(path.join(worktree, "b.txt"), "b\n");
    const second = await commit();
    if (!second.changed) throw new Error("expected a commit");
    await pushBranch({ mirror, cloneUrl: box.origin, branch: BRANCH, sha: second.sha, token: TOKEN });
    expect(await git(box.origin, "rev-parse", `refs/heads/${BRANCH}`)).toBe(second.sha);
  });

  it("refuses to push with the token after an agent changed the config from its worktree", async () => {
    await writeFile(path.join(worktree, "a.txt"), "a\n");
    const result = await commit();
    if (!result.changed) throw new Error("expected a commit");
    await git(worktree, "config", "remote.origin.url", "https://evil.example/steal.git");
    await expect(
      pushBranch({ mirror, cloneUrl: box.origin, branch: BRANCH, sha: result.sha, token: TOKEN }),
    ).rejects.toThrow("mirror config changed since Drover wrote it; refusing to use credentials");
    await expect(
      git(box.origin, "rev-parse", "--verify", "--quiet", `refs/heads/${BRANCH}`),
    ).rejects.toThrow();
  });

  it("refuses a malformed sha or branch", async () => {
    await expect(pushBranch({ mirror, cloneUrl: box.origin, branch: BRANCH, sha: "HEAD" })).rejects.toThrow(
      "invalid commit sha",
    );
    await expect(
      pushBranch({ mirror, cloneUrl: box.origin, branch: "--delete", sha: baseSha }),
    ).rejects.toThrow("invalid branch name");
  });
});
