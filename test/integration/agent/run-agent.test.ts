import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { agentEnvironment } from "../../../src/agent/env.ts";
import { runAgent, type AgentRunInput } from "../../../src/agent/run-agent.ts";
import { isRunning } from "../../helpers/processes.ts";

const fixtures = resolve(dirname(fileURLToPath(import.meta.url)), "../../fixtures/agents");
const fixture = (name: string): string => join(fixtures, name);

let root: string;
let cwd: string;
let workDir: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "drover-agent-"));
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
    timeoutMs: 10_000,
    env: agentEnvironment(process.env),
    ...overrides,
  };
}

function grandchildPid(logTail: string): number {
  const match = /grandchild-pid=(\d+)/.exec(logTail);
  if (!match?.[1]) throw new Error(`no grandchild pid in: ${logTail}`);
  return Number(match[1]);
}

describe("runAgent with the command adapter", () => {
  it("runs an agent that edits a file and passes", async () => {
    const result = await runAgent(nodeAgent("edit-and-pass.mjs"));

    expect(result).toMatchObject({
      outcome: "exited",
      exitCode: 0,
      signal: null,
      verdict: { status: "pass", summary: "Added CHANGED.md" },
      logFile: join(workDir, "agent.log"),
    });
    expect(result.verdictProblem).toBeUndefined();
    expect(await readFile(join(cwd, "CHANGED.md"), "utf8")).toBe("the agent was here\n");
    expect(await readFile(join(workDir, "prompt.md"), "utf8")).toBe("# Task\n\nDo the thing.\n");
    expect(await readFile(result.logFile, "utf8")).toContain("Wrote CHANGED.md");
    expect(result.logTail).toContain("Wrote CHANGED.md");
    expect(result.durationMs).toBeGreaterThan(0);
  });

  it("reports a fail verdict", async () => {
    const result = await runAgent(nodeAgent("fail.mjs"));
    expect(result.outcome).toBe("exited");
    expect(result.exitCode).toBe(0);
    expect(result.verdict).toEqual({ status: "fail", summary: "Tests still fail after three tries" });
  });

  it("reports a non-zero exit with stderr in the log", async () => {
    const result = await runAgent(nodeAgent("exit-code.mjs", ["3"]));
    expect(result).toMatchObject({ outcome: "exited", exitCode: 3, verdict: null });
    expect(result.verdictProblem).toBe("no drover-verdict block found");
    expect(result.logTail).toContain("something went badly wrong");
  });

  it("gives the prompt on stdin and in {prompt_file}", async () => {
    const prompt = "# Task\n\nUnicode é ✓ and a big body\n" + "x".repeat(300_000);
    const result = await runAgent(
      nodeAgent("echo-prompt.mjs", ["{prompt_file}", "--file={prompt_file}"], { prompt }),
    );
    expect(result.exitCode).toBe(0);
    const echoed = JSON.parse(result.finalMessage) as { stdin: string; file: string; args: string[] };
    expect(echoed.stdin).toBe(prompt);
    expect(echoed.file).toBe(prompt);
    const promptFile = join(workDir, "prompt.md");
    expect(echoed.args).toEqual([promptFile, `--file=${promptFile}`]);
  });

  it("passes only the allowlisted environment", async () => {
    const source = {
      ...process.env,
      SECRET: "s3cr3t",
      DATABASE_URL: "postgres://drover:pw@localhost/drover",
      GITHUB_TOKEN: "ghs_x",
      DROVER_WEBHOOK_SECRET: "x",
      ANTHROPIC_API_KEY: "sk-ant-test",
      LANG: "C.UTF-8",
    };
    const result = await runAgent(
      nodeAgent("dump-env.mjs", [], { env: agentEnvironment(source, ["ANTHROPIC_API_KEY"]) }),
    );
    const line = result.logTail.split("\n").find((l) => l.startsWith("ENV="));
    const env = JSON.parse((line ?? "ENV={}").slice(4)) as Record<string, string>;

    const allowed = new Set([
      "PATH",
      "HOME",
      "USER",
      "LOGNAME",
      "SHELL",
      "LANG",
      "LANGUAGE",
      "LC_ALL",
      "LC_CTYPE",
      "TERM",
      "TZ",
      "TMPDIR",
      "ANTHROPIC_API_KEY",
    ]);
    // Node itself may add nothing; anything else arriving would be a leak.
    expect(Object.keys(env).filter((name) => !allowed.has(name))).toEqual([]);
    expect(env["ANTHROPIC_API_KEY"]).toBe("sk-ant-test");
    expect(env["LANG"]).toBe("C.UTF-8");
    expect(JSON.stringify(env)).not.toContain("s3cr3t");
    expect(JSON.stringify(env)).not.toContain("postgres://");
  });

  it("kills the whole process group on timeout, SIGKILL after the grace period", async () => {
    const started = Date.now();
    const result = await runAgent(
      nodeAgent("hang.mjs", ["--ignore-term"], { timeoutMs: 600, killGraceMs: 300 }),
    );
    const took = Date.now() - started;

    expect(result.outcome).toBe("timed-out");
    expect(result.exitCode).toBeNull();
    expect(result.signal).toBe("SIGKILL");
    expect(result.logTail).toContain("ignoring SIGTERM");
    expect(took).toBeGreaterThanOrEqual(600);
    expect(took).toBeLessThan(4000);
    await expect.poll(() => isRunning(grandchildPid(result.logTail)), { timeout: 1000 }).toBe(false);
  });

  it("stops on abort with SIGTERM to the group", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const started = Date.now();
    const result = await runAgent(
      nodeAgent("hang.mjs", [], { signal: controller.signal, killGraceMs: 5000 }),
    );

    expect(result.outcome).toBe("cancelled");
    expect(result.signal).toBe("SIGTERM");
    expect(Date.now() - started).toBeLessThan(3000);
    await expect.poll(() => isRunning(grandchildPid(result.logTail)), { timeout: 1000 }).toBe(false);
  });

  it("does not start when already aborted", async () => {
    const result = await runAgent(nodeAgent("edit-and-pass.mjs", [], { signal: AbortSignal.abort() }));
    expect(result.outcome).toBe("cancelled");
    await expect(stat(join(cwd, "CHANGED.md"))).rejects.toThrow();
  });

  it("reaps a grandchild left holding the pipes after the agent exits", async () => {
    const started = Date.now();
    const result = await runAgent(nodeAgent("orphan.mjs"));
    expect(Date.now() - started).toBeLessThan(3000);
    expect(result).toMatchObject({ outcome: "exited", exitCode: 0, verdict: { status: "pass" } });
    await expect.poll(() => isRunning(grandchildPid(result.logTail)), { timeout: 1000 }).toBe(false);
  });

  it("bounds memory and agent.log when the agent floods 100 MB of output", async () => {
    const maxLogBytes = 32 * 1024;
    const maxLogFileBytes = 2 * 1024 * 1024;
    let streamed = 0;
    const result = await runAgent(
      nodeAgent("flood.mjs", ["100"], {
        maxLogBytes,
        maxLogFileBytes,
        onOutput: (chunk) => {
          streamed += chunk.length;
        },
      }),
    );

    expect(result.outcome).toBe("exited");
    expect(result.exitCode).toBe(0);
    expect(Buffer.byteLength(result.logTail)).toBeLessThanOrEqual(maxLogBytes);
    expect(result.logTail).toContain("drover-verdict");
    expect(result.verdict).toEqual({ status: "pass", summary: "flooded" });
    expect(streamed).toBeGreaterThan(100 * 1024 * 1024);
    const log = await readFile(result.logFile, "utf8");
    expect(log.length).toBeLessThan(maxLogFileBytes + 200);
    expect(log).toMatch(
      /\[drover: agent\.log stopped at 2097152 bytes; \d+ more bytes were not written\]\n$/,
    );
  });

  it("reports a missing agent_command as a start failure", async () => {
    const result = await runAgent({ ...nodeAgent("fail.mjs"), agentCommand: undefined });
    expect(result.outcome).toBe("spawn-failed");
    expect(result.error).toContain("agent: command needs agent_command in .github/drover.yml");
  });
});

describe("runAgent with the claude adapter", () => {
  async function fakeClaudeOnPath(): Promise<string> {
    const bin = join(root, "bin");
    await mkdir(bin);
    const claude = join(bin, "claude");
    await writeFile(claude, `#!/bin/sh\nexec '${process.execPath}' '${fixture("fake-claude.mjs")}' "$@"\n`);
    await chmod(claude, 0o755);
    return bin;
  }

  it("runs claude in print mode and reads its JSON result", async () => {
    const bin = await fakeClaudeOnPath();
    const env = agentEnvironment({ ...process.env, PATH: `${bin}:${process.env["PATH"] ?? ""}` });
    const result = await runAgent({
      agent: "claude",
      agentArgs: ["--model", "sonnet"],
      prompt: "Fix the bug.",
      cwd,
      workDir,
      timeoutMs: 10_000,
      env,
    });

    expect(result).toMatchObject({
      outcome: "exited",
      exitCode: 0,
      costUsd: 0.0421,
      turns: 4,
      sessionId: "0b1c2d3e-0000-4000-8000-000000000000",
      isError: false,
      verdict: { status: "pass" },
    });
    expect(result.finalMessage).toMatch(/^I wrote CLAUDE_WAS_HERE\.md\./);
    const summary = JSON.parse(result.verdict?.summary ?? "{}") as { args: string[]; promptLength: number };
    expect(summary.args).toEqual([
      "-p",
      "--input-format",
      "stream-json",
      "--output-format",
      "stream-json",
      "--verbose",
      "--permission-mode",
      "acceptEdits",
      "--model",
      "sonnet",
    ]);
    expect(await readFile(join(cwd, "CLAUDE_WAS_HERE.md"), "utf8")).toBe("Fix the bug.");
    expect(result.logTail).toContain("fake claude starting");
  });

  it("gives a hint to the running agent on its streaming input, and closes it once every message is answered", async () => {
    const bin = await fakeClaudeOnPath();
    const env = agentEnvironment({
      ...process.env,
      PATH: `${bin}:${process.env["PATH"] ?? ""}`,
      FAKE_AGENT_SCENARIO: "wait-for-hint",
    });
    let deliver: ((text: string) => boolean) | undefined;
    const running = runAgent({
      agent: "claude",
      prompt: "Fix the bug.",
      cwd,
      workDir,
      timeoutMs: 20_000,
      env: { ...env, FAKE_AGENT_SCENARIO: "wait-for-hint" },
      onLive: (give) => (deliver = give),
    });
    await expect.poll(() => deliver !== undefined).toBe(true);
    expect(deliver?.("From @alice: use tabs.")).toBe(true);
    const result = await running;
    expect(result).toMatchObject({ outcome: "exited", exitCode: 0, verdict: { summary: "took the hint" } });
    expect(result.durationMs).toBeLessThan(10_000); // answered the hint, not the 10 s wait
    expect(await readFile(join(cwd, "HINTS.md"), "utf8")).toBe("From @alice: use tabs.\n");
    expect(result.finalMessage).toContain("Took the hint.");
    // The agent ended: nothing more reaches it.
    expect(deliver?.("too late")).toBe(false);
  });

  it("closes the agent's input once it answered its prompt, so it ends as a one-shot run would", async () => {
    const bin = await fakeClaudeOnPath();
    const env = agentEnvironment({ ...process.env, PATH: `${bin}:${process.env["PATH"] ?? ""}` });
    let deliver: ((text: string) => boolean) | undefined;
    const result = await runAgent({
      agent: "claude",
      prompt: "Fix the bug.",
      cwd,
      workDir,
      timeoutMs: 10_000,
      env,
      onLive: (give) => (deliver = give),
    });
    expect(result).toMatchObject({ outcome: "exited", exitCode: 0, verdict: { status: "pass" } });
    expect(deliver?.("after the end")).toBe(false);
  });

  it("says how to install claude when it is not on PATH", async () => {
    const emptyBin = join(root, "empty-bin");
    await mkdir(emptyBin);
    const result = await runAgent({
      agent: "claude",
      prompt: "Fix the bug.",
      cwd,
      workDir,
      timeoutMs: 10_000,
      env: { PATH: emptyBin, HOME: root },
    });
    expect(result).toMatchObject({ agent: "claude", outcome: "unavailable" });
    expect(result.error).toBe(
      "agent claude: `claude` was not found on PATH; install Claude Code on the worker (npm i -g @anthropic-ai/claude-code) or set agent_command to its path",
    );
  });

  it("reports a missing command program by path", async () => {
    const result = await runAgent({ ...nodeAgent("fail.mjs"), agentCommand: [join(root, "no-such-agent")] });
    expect(result.outcome).toBe("unavailable");
    expect(result.error).toMatch(/^agent command: `.*no-such-agent` was not found; check agent_command/);
  });
});

describe("runAgent input checks", () => {
  it("throws for a worktree that does not exist (a Drover bug, not agent misbehaviour)", async () => {
    await expect(runAgent({ ...nodeAgent("fail.mjs"), cwd: join(root, "missing") })).rejects.toThrow(
      /is not a directory/,
    );
  });
});
