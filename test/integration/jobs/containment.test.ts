import { randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BASE_AGENT_ENV } from "../../../src/agent/env.ts";
import { packageCacheEnv } from "../../../src/agent/setup.ts";
import { mirrorPath } from "../../../src/git/mirror.ts";
import { useDrover } from "../../helpers/drover.ts";
import { git } from "../../helpers/git-sandbox.ts";
import { agentConfig, mockLabelledRun, recorder, taskOf } from "../../helpers/github-flows.ts";
import { issueLabeled } from "../../helpers/payloads.ts";

const BRANCH = "drover/31-look-around";

/**
 * Through the whole job: an agent that goes looking for credentials (its environment, /proc/self/environ,
 * the git config and remote it can read) and commits what it found. Drover's secrets and the installation
 * token must be in none of it, nor anywhere Drover leaves on disk.
 */
describe("what an agent can see", () => {
  const token = `ghs_${randomBytes(16).toString("hex")}`;
  const secrets: Record<string, string> = {
    PRIVATE_KEY: `-----BEGIN RSA PRIVATE KEY-----marker-${randomBytes(8).toString("hex")}`,
    WEBHOOK_SECRET: `marker-webhook-${randomBytes(8).toString("hex")}`,
    DATABASE_URL: `postgres://drover:marker-${randomBytes(8).toString("hex")}@db.internal/drover`,
    REDIS_URL: `redis://:marker-${randomBytes(8).toString("hex")}@redis.internal:6379`,
    GITHUB_TOKEN: `ghp_marker${randomBytes(8).toString("hex")}`,
    GH_TOKEN: `gho_marker${randomBytes(8).toString("hex")}`,
  };
  const passed = { ANTHROPIC_API_KEY: `sk-ant-visible-${randomBytes(4).toString("hex")}` };
  const saved = new Map<string, string | undefined>();
  const forbidden = [
    token,
    Buffer.from(`x-access-token:${token}`).toString("base64"),
    ...Object.values(secrets),
  ];

  // Registered before useDrover, so the secrets are set before each harness is made and restored after
  // it is drained and closed.
  beforeEach(() => {
    for (const [name, value] of Object.entries({ ...secrets, ...passed })) {
      saved.set(name, process.env[name]);
      process.env[name] = value;
    }
  });
  afterEach(() => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
  const { db, harness, sandbox, repo, github } = useDrover({ agentEnv: Object.keys(passed) });

  it("gives the agent no secret, no token and no credentialled remote", async () => {
    const sent = recorder();
    const issue = { number: 31, title: "Look around", labels: ["drover"] };
    mockLabelledRun(github, sent, {
      issue,
      commentId: 8031,
      config: agentConfig("leak-env.mjs"),
      installationId: repo().installationId,
      token,
      passes: { branch: BRANCH, pr: 32 },
    });

    await harness().receive("issues", issueLabeled({ repo: repo(), number: 31, title: "Look around" }));
    await harness().drain();
    expect((await taskOf(db(), repo(), 31)).task).toMatchObject({
      state: "review",
      prNumber: 32,
    });

    // What the agent found, as anyone can read it on the pushed branch.
    const found = await git(sandbox().origin, "show", `refs/heads/${BRANCH}:LEAKED.json`);
    const leaked = JSON.parse(found) as {
      env: Record<string, string>;
      procEnviron: string[];
      gitConfig: string;
      remoteUrl: string;
    };
    // The dump works (a variable the operator chose to pass is there) ...
    expect(leaked.env.ANTHROPIC_API_KEY).toBe(passed.ANTHROPIC_API_KEY);
    expect(leaked.procEnviron).toContain(`ANTHROPIC_API_KEY=${passed.ANTHROPIC_API_KEY}`);
    // ... and holds nothing else but the base allowlist and where the repository's package caches are.
    const caches = Object.keys(packageCacheEnv(sandbox().home, repo().fullName));
    const allowed: string[] = [...BASE_AGENT_ENV, ...Object.keys(passed), ...caches];
    expect(Object.keys(leaked.env).filter((name) => !allowed.includes(name))).toEqual([]);
    for (const secret of forbidden) expect(found).not.toContain(secret);
    // The machine's own /etc/gitconfig and ~/.gitconfig are not Drover's; the mirror's and worktree's are.
    const droverConfig = leaked.gitConfig
      .split("\n")
      .filter((line) => line.startsWith(`file:${sandbox().home}`));
    expect(droverConfig).toContainEqual(expect.stringContaining(`remote.origin.url=${sandbox().origin}`));
    expect(droverConfig.join("\n")).not.toMatch(/extraheader|credential|x-access-token/i);
    expect(leaked.remoteUrl.trim()).toBe(sandbox().origin);

    // The mirror's remote has no credentials, and no worktree is left behind.
    const mirror = mirrorPath(sandbox().home, repo().fullName);
    expect(await git(mirror, "config", "--get", "remote.origin.url")).toBe(sandbox().origin);
    const mirrorConfig = await git(mirror, "config", "--list");
    expect(mirrorConfig).not.toMatch(/extraheader|credential|x-access-token/i);
    expect(await git(mirror, "worktree", "list", "--porcelain")).not.toContain(
      "worktree " + sandbox().home + "/worktrees",
    );

    // Nothing Drover wrote in plain text under DROVER_HOME (prompt, agent log, git config) has a secret.
    for (const file of await filesUnder(sandbox().home)) {
      const text = await readFile(file, "latin1");
      for (const secret of forbidden) expect(text.includes(secret), `${file} holds a secret`).toBe(false);
    }
  });
});

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}
