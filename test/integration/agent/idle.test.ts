import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { AgentAdapter } from "../../../src/agent/adapters/index.ts";
import { agentEnvironment } from "../../../src/agent/env.ts";
import { runAgent, type AgentRunInput } from "../../../src/agent/run-agent.ts";
import { AGENTS } from "../../helpers/github-flows.ts";
import { isRunning } from "../../helpers/processes.ts";

/**
 * The command adapter as an adapter with the runner's hooks filled in would be: a `stuck` that knows a
 * "waiting for network" line and a login prompt, and CLI variables of its own in `env` (beneath the
 * operator's). No real adapter in this branch has them yet; the end-to-end checks of each CLI's own
 * lines are in test/agents/.
 */
vi.mock("../../../src/agent/adapters/index.ts", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../../src/agent/adapters/index.ts")>();
  const withHooks = (adapter: AgentAdapter): AgentAdapter => ({
    ...adapter,
    stuck: (line) => {
      if (line.includes("throw in stuck")) throw new Error("a broken stuck must not take the run down");
      if (/waiting for network/i.test(line)) return "it waits for a network it cannot reach";
      if (/^Paste your API key: ?$/.test(line)) return "it asks for a key at a prompt";
      return undefined;
    },
    build: (input) => ({
      ...adapter.build(input),
      env: { FAKE_CLI_RETRIES: "0", FAKE_CLI_NO_UPDATE: "1", LANG: "adapter-lang" },
    }),
  });
  return {
    ...original,
    getAdapter: (name: string) => {
      const adapter = original.getAdapter(name);
      return adapter?.name === "command" ? withHooks(adapter) : adapter;
    },
  };
});

const fixture = (name: string): string => join(AGENTS, name);

let root: string;
let cwd: string;
let workDir: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "drover-idle-"));
  cwd = join(root, "worktree");
  workDir = join(root, "work");
  await mkdir(cwd);
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function nodeAgent(
  script: string,
  args: string[] = [],
  overrides: Partial<AgentRunInput> = {},
): AgentRunInput {
  return {
    agent: "command",
    agentCommand: [process.execPath, fixture(script), ...args],
    prompt: "# Task\n\nDo the thing.\n",
    cwd,
    workDir,
    timeoutMs: 15_000,
    idleTimeoutMs: 1_000,
    killGraceMs: 500,
    env: agentEnvironment(process.env),
    ...overrides,
  };
}

function grandchildPid(logTail: string): number {
  const match = /grandchild-pid=(\d+)/.exec(logTail);
  if (!match?.[1]) throw new Error(`no grandchild pid in: ${logTail}`);
  return Number(match[1]);
}

describe("runAgent's idle timeout (agent_idle_timeout)", () => {
  it("stops an agent that prints nothing and changes nothing, as unavailable, with its whole process group", async () => {
    // hang.mjs prints its grandchild's pid once, then neither prints nor writes; with --ignore-term only
    // the SIGKILL after the grace period ends it.
    const result = await runAgent(nodeAgent("hang.mjs", ["--ignore-term"]));

    expect(result.outcome).toBe("unavailable");
    expect(result.durationMs).toBeGreaterThanOrEqual(1_000);
    expect(result.durationMs).toBeLessThan(5_000);
    expect(result.error).toMatch(
      /^agent command is unavailable \(no output and no file changed for 1s, the agent_idle_timeout: it may be waiting for the network or for a login\)/,
    );
    expect(result.nextAgent).toBeUndefined();
    expect(await readFile(result.logFile, "utf8")).toContain("[drover: stopped the agent: no output");
    await expect.poll(() => isRunning(grandchildPid(result.logTail)), { timeout: 2_000 }).toBe(false);
  });

  it("names the next agent of a failover list", async () => {
    const result = await runAgent(nodeAgent("hang.mjs", [], { agent: ["command", "claude"] }));
    expect(result).toMatchObject({ agent: "command", outcome: "unavailable", nextAgent: "claude" });
    expect(result.error).toContain("agent_idle_timeout");
  });

  it("leaves alone an agent that prints nothing but keeps writing files", async () => {
    const result = await runAgent(nodeAgent("silent-worker.mjs", ["2500", "200"]));
    expect(result).toMatchObject({ outcome: "exited", exitCode: 0, verdict: { status: "pass" } });
    expect(result.error).toBeUndefined();
    expect(result.durationMs).toBeGreaterThanOrEqual(2_500);
  });

  it("leaves alone an agent that prints nothing but keeps deleting files (a directory's change)", async () => {
    for (let step = 0; step < 20; step += 1) await writeFile(join(cwd, `STEP-${step}.md`), "old\n");
    const result = await runAgent(nodeAgent("silent-worker.mjs", ["2200", "200", "--delete"]));
    expect(result).toMatchObject({ outcome: "exited", exitCode: 0, verdict: { status: "pass" } });
  });

  it("leaves alone an agent that keeps printing but changes nothing", async () => {
    const result = await runAgent(nodeAgent("chatty.mjs", ["2500", "200"]));
    expect(result).toMatchObject({ outcome: "exited", exitCode: 0, verdict: { status: "pass" } });
    expect(result.logTail).toContain("thinking 9");
  });

  it("has no idle limit when none is given (the task_timeout alone stops it)", async () => {
    const result = await runAgent(nodeAgent("hang.mjs", [], { idleTimeoutMs: undefined, timeoutMs: 1_500 }));
    expect(result.outcome).toBe("timed-out");
    expect(result.error).toBeUndefined();
  });
});

describe("runAgent with an adapter's stuck lines", () => {
  it("stops the run at the first stuck line, as unavailable with the adapter's reason", async () => {
    const result = await runAgent(nodeAgent("waits-for-network.mjs", [], { idleTimeoutMs: 60_000 }));

    expect(result.outcome).toBe("unavailable");
    // At once: well before the idle timeout or the task_timeout.
    expect(result.durationMs).toBeLessThan(3_000);
    expect(result.error).toMatch(/^agent command is unavailable \(it waits for a network it cannot reach\)/);
    expect(await readFile(result.logFile, "utf8")).toContain(
      "[drover: stopped the agent: it waits for a network it cannot reach]",
    );
    await expect.poll(() => isRunning(grandchildPid(result.logTail)), { timeout: 2_000 }).toBe(false);
  });

  it("recognises a prompt left waiting on an unfinished line", async () => {
    const result = await runAgent(
      nodeAgent("waits-for-network.mjs", ["Paste your API key: ", "--no-newline"], { idleTimeoutMs: 60_000 }),
    );
    expect(result.outcome).toBe("unavailable");
    expect(result.durationMs).toBeLessThan(4_000);
    expect(result.error).toContain("(it asks for a key at a prompt)");
  });

  it("reads a status line redrawn with a carriage return", async () => {
    const result = await runAgent(
      nodeAgent("waits-for-network.mjs", ["Connecting...\rReconnecting 1/5 (waiting for network)\rx"], {
        idleTimeoutMs: 60_000,
      }),
    );
    expect(result.outcome).toBe("unavailable");
    expect(result.error).toContain("(it waits for a network it cannot reach)");
  });

  it("goes on when stuck throws, and when no line matches", async () => {
    const result = await runAgent(
      nodeAgent("waits-for-network.mjs", ["please throw in stuck"], {
        idleTimeoutMs: undefined,
        timeoutMs: 1_500,
      }),
    );
    expect(result.outcome).toBe("timed-out");
  });

  it("judges a run that finished by itself by how it ended, whatever it printed", async () => {
    const result = await runAgent(nodeAgent("edit-and-pass.mjs"));
    expect(result).toMatchObject({ outcome: "exited", exitCode: 0, verdict: { status: "pass" } });
  });
});

describe("runAgent's environment", () => {
  it("starts the CLI with the adapter's variables beneath the operator's", async () => {
    const env: Record<string, string> = { ...agentEnvironment(process.env), LANG: "C.UTF-8" };
    const result = await runAgent(nodeAgent("dump-env.mjs", [], { env }));
    const line = result.logTail.split("\n").find((l) => l.startsWith("ENV="));
    const seen = JSON.parse((line ?? "ENV={}").slice(4)) as Record<string, string>;

    expect(seen).toMatchObject({ FAKE_CLI_RETRIES: "0", FAKE_CLI_NO_UPDATE: "1", LANG: "C.UTF-8" });
    expect(seen.PATH).toBe(env.PATH);
  });
});
