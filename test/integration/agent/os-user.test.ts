import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chownTree, resolveAgentUser } from "../../../src/agent/os-user.ts";
import { runAgent } from "../../../src/agent/run-agent.ts";

const AGENT = new URL("../../fixtures/agents/who-am-i.mjs", import.meta.url).pathname;
const asRoot = process.getuid?.() === 0;

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "drover-os-user-"));
  await chmod(root, 0o755); // the agent's user must be able to reach its worktree
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe("resolveAgentUser", () => {
  it("refuses root and names that are no user", async () => {
    await expect(resolveAgentUser("root")).rejects.toThrow(/must not be root/);
    await expect(resolveAgentUser("0")).rejects.toThrow(/must not be root/);
    await expect(resolveAgentUser("no-such-user-here")).rejects.toThrow(/no such user.*useradd/);
    await expect(resolveAgentUser("bad name;")).rejects.toThrow(/not a user name/);
  });
});

// The CI machine runs as root; elsewhere switching users is impossible, and the test says so.
describe.runIf(asRoot)("an agent run as another user (DROVER_AGENT_USER)", () => {
  it("runs with that user's ids and cannot read the worker's secrets", async () => {
    const user = await resolveAgentUser("nobody");
    const secret = path.join(root, "app.private-key.pem");
    await writeFile(secret, "-----BEGIN RSA PRIVATE KEY-----\n", { mode: 0o600 });
    const worktree = path.join(root, "worktree");
    const workDir = path.join(root, "run");
    await mkdir(worktree);
    await mkdir(workDir);
    await chownTree(worktree, user.uid, user.gid);
    await chownTree(workDir, user.uid, user.gid);

    const result = await runAgent({
      agent: "command",
      agentCommand: [process.execPath, AGENT, secret],
      prompt: "who are you?",
      cwd: worktree,
      workDir,
      timeoutMs: 20_000,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: workDir },
      runAs: user,
    });
    expect(result.outcome).toBe("exited");
    expect(result.logTail).toContain(`uid=${user.uid} gid=${user.gid} secret=EACCES`);
    expect(await readFile(path.join(worktree, "WHO.md"), "utf8")).toBe(`uid ${user.uid}\n`);
    expect((await stat(path.join(worktree, "WHO.md"))).uid).toBe(user.uid);

    // Handed back to the worker for the commit.
    await chownTree(worktree, 0, 0);
    expect((await stat(path.join(worktree, "WHO.md"))).uid).toBe(0);
  });
});
