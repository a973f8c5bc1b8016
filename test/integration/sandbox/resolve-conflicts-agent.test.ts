import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { parseVerdict } from "../../../src/agent/verdict.ts";

/**
 * The fake agent that resolves conflicts (test/fixtures/agents/resolve-conflicts.mjs), which end-to-end
 * tests of conflicted pull requests run in Drover's place of a real agent: given a real `git merge` that
 * stopped on conflicts, it leaves both sides in each file and nothing unmerged.
 */

const AGENT = fileURLToPath(new URL("../../fixtures/agents/resolve-conflicts.mjs", import.meta.url));
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function repository(): Promise<(...args: string[]) => Promise<string>> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "drover-resolve-"));
  dirs.push(dir);
  const git = async (...args: string[]) => (await execa("git", args, { cwd: dir })).stdout;
  await git("init", "--quiet", "--initial-branch=main");
  await git("config", "user.name", "Test");
  await git("config", "user.email", "test@example.com");
  return git;
}

async function commitFiles(git: (...args: string[]) => Promise<string>, files: Record<string, string>) {
  const dir = await git("rev-parse", "--show-toplevel");
  for (const [file, text] of Object.entries(files)) await writeFile(path.join(dir, file), text);
  await git("add", "--all");
  await git("commit", "--quiet", "-m", `Change ${Object.keys(files).join(", ")}`);
}

describe("the conflict-resolving fake agent", () => {
  it("keeps both sides of every conflict of a real merge, ours first, and stages the files", async () => {
    const git = await repository();
    await commitFiles(git, { "a.md": "one\ntwo\nthree\n", "b.md": "alpha\n", "c.md": "same\n" });
    await git("checkout", "--quiet", "-b", "task");
    await commitFiles(git, { "a.md": "one\nTWO (task)\nthree\n", "b.md": "beta (task)\n" });
    await git("checkout", "--quiet", "main");
    await commitFiles(git, { "a.md": "one\nTWO (main)\nthree\n", "b.md": "gamma (main)\n" });
    await git("checkout", "--quiet", "task");
    const merge = await execa("git", ["merge", "--no-ff", "main"], {
      cwd: await git("rev-parse", "--show-toplevel"),
      reject: false,
    });
    expect(merge.exitCode).toBe(1);
    expect((await git("diff", "--name-only", "--diff-filter=U")).split("\n")).toEqual(["a.md", "b.md"]);

    const dir = await git("rev-parse", "--show-toplevel");
    const run = await execa("node", [AGENT], { cwd: dir });
    expect(await readFile(path.join(dir, "a.md"), "utf8")).toBe("one\nTWO (task)\nTWO (main)\nthree\n");
    expect(await readFile(path.join(dir, "b.md"), "utf8")).toBe("beta (task)\ngamma (main)\n");
    expect(await readFile(path.join(dir, "c.md"), "utf8")).toBe("same\n");
    expect(await git("diff", "--name-only", "--diff-filter=U")).toBe("");
    expect(parseVerdict(run.stdout)).toEqual({
      verdict: expect.objectContaining({
        status: "pass",
        summary: "Resolved 2 conflict(s) in a.md, b.md by keeping both sides",
      }) as unknown,
    });
    // What the worker does next: the merge commits, with both parents.
    await git("commit", "--quiet", "--no-edit");
    expect((await git("log", "-1", "--format=%P")).split(" ")).toHaveLength(2);
  });

  it("drops a diff3 base section and says so when there is nothing to resolve", async () => {
    const git = await repository();
    await git("config", "merge.conflictStyle", "diff3");
    await commitFiles(git, { "a.md": "base\n" });
    await git("checkout", "--quiet", "-b", "task");
    await commitFiles(git, { "a.md": "task\n" });
    await git("checkout", "--quiet", "main");
    await commitFiles(git, { "a.md": "main\n" });
    await git("checkout", "--quiet", "task");
    const dir = await git("rev-parse", "--show-toplevel");
    await execa("git", ["merge", "main"], { cwd: dir, reject: false });
    expect(await readFile(path.join(dir, "a.md"), "utf8")).toContain("|||||||");

    await execa("node", [AGENT], { cwd: dir });
    expect(await readFile(path.join(dir, "a.md"), "utf8")).toBe("task\nmain\n");
    const again = await execa("node", [AGENT], { cwd: dir });
    expect(parseVerdict(again.stdout)).toMatchObject({ verdict: { summary: "No conflicts to resolve" } });
  });
});
