import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { agentEnvironment } from "../../../src/agent/env.ts";
import { judge } from "../../../src/agent/judge.ts";
import { runAgent, type AgentRunInput } from "../../../src/agent/run-agent.ts";

const fixtures = resolve(dirname(fileURLToPath(import.meta.url)), "../../fixtures/agents");
const fixture = (name: string): string => join(fixtures, name);

let root: string;
let cwd: string;
let workDir: string;
let bin: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "drover-adapters-"));
  cwd = join(root, "worktree");
  workDir = join(root, "work");
  bin = join(root, "bin");
  await mkdir(cwd);
  await mkdir(bin);
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Puts a fake CLI on PATH under the real CLI's name, as an installed one would be. */
async function install(name: string): Promise<void> {
  const path = join(bin, name);
  await writeFile(path, `#!/bin/sh\nexec '${process.execPath}' '${fixture(`fake-${name}.mjs`)}' "$@"\n`);
  await chmod(path, 0o755);
}

function run(agent: AgentRunInput["agent"], scenario = "pass", overrides: Partial<AgentRunInput> = {}) {
  // Only the fakes: a real CLI installed next to node must not stand in for a missing one.
  const source = { ...process.env, PATH: bin, FAKE_AGENT_SCENARIO: scenario };
  return runAgent({
    agent,
    prompt: "Fix the bug.",
    cwd,
    workDir,
    timeoutMs: 10_000,
    env: agentEnvironment(source, ["FAKE_AGENT_SCENARIO"]),
    ...overrides,
  });
}

/** The fakes put the argv they were given and the prompt's length in their pass verdict's summary. */
function argvSeen(summary: string | undefined): string[] {
  return (JSON.parse(summary ?? "{}") as { args: string[] }).args;
}

const cases = [
  {
    agent: "claude",
    argv: [
      "-p",
      "--input-format",
      "stream-json",
      "--output-format",
      "stream-json",
      "--verbose",
      "--permission-mode",
      "acceptEdits",
    ],
    file: "CLAUDE_WAS_HERE.md",
    report: {
      costUsd: 0.0421,
      turns: 4,
      sessionId: "0b1c2d3e-0000-4000-8000-000000000000",
      inputTokens: 3210,
      outputTokens: 20,
    },
    rateLimited: "agent claude is rate-limited (API Error: Rate limit reached)",
    unavailable: "agent claude is unavailable (Invalid API key · Please run /login); pass ANTHROPIC_API_KEY",
  },
  {
    agent: "codex",
    argv: [
      "exec",
      "--json",
      "--sandbox",
      "workspace-write",
      "--skip-git-repo-check",
      "-c",
      "analytics.enabled=false",
      "-",
    ],
    file: "CODEX_WAS_HERE.md",
    report: { sessionId: "0199a213-81c0-7800-8aa1-bbab2a035a53", inputTokens: 24763, outputTokens: 122 },
    rateLimited: "agent codex is rate-limited (You've hit your usage limit.",
    unavailable:
      "agent codex is unavailable (unexpected status 401 Unauthorized: Missing bearer or basic authentication in header); pass CODEX_API_KEY",
  },
  {
    agent: "amp",
    argv: ["--execute", "--stream-json"],
    file: "AMP_WAS_HERE.md",
    report: {
      turns: 2,
      sessionId: "T-2775dc92-90ed-4f85-8b73-8f9766029e83",
      inputTokens: 12783 + 100 + 2 * (367 + 12416),
      outputTokens: 50,
    },
    rateLimited: "agent amp is rate-limited (429 {",
    unavailable:
      "agent amp is unavailable (Error: Invalid or missing API key. Run 'amp login' to authenticate.); pass AMP_API_KEY",
  },
  {
    agent: "opencode",
    argv: ["run", "--format", "json"],
    file: "OPENCODE_WAS_HERE.md",
    report: {
      turns: 2,
      costUsd: 0.02,
      sessionId: "ses_6a1b2c3d4e5fXyZ",
      inputTokens: 2000 + 300 + 2 * 1050,
      outputTokens: 80 + 40 + 2 * 7,
    },
    rateLimited: "agent opencode is rate-limited (APIError: Rate limit reached for requests (HTTP 429))",
    unavailable: "agent opencode is unavailable (ProviderAuthError: Anthropic API key is missing.",
  },
] as const;

describe.each(cases)("runAgent with the $agent adapter and a fake $agent CLI", (c) => {
  it("runs it headless, gives the prompt on stdin and reads its verdict, cost, tokens, turns and session", async () => {
    await install(c.agent);
    const result = await run(c.agent);

    expect(result).toMatchObject({
      agent: c.agent,
      outcome: "exited",
      exitCode: 0,
      verdict: { status: "pass" },
      ...c.report,
    });
    expect(result.verdictProblem).toBeUndefined();
    expect(result.error).toBeUndefined();
    expect(result.finalMessage).toMatch(new RegExp(`^I wrote ${c.file.replace(".", "\\.")}\\.`));
    expect(argvSeen(result.verdict?.summary)).toEqual(c.argv);
    expect(await readFile(join(cwd, c.file), "utf8")).toBe("Fix the bug.");
    if (c.agent === "codex") expect(result.turns).toBeUndefined();
    expect(judge({ ...result, changed: true, timeoutMs: 10_000 })).toMatchObject({ state: "review" });
  });

  it("reports the agent's fail verdict as a run that worked", async () => {
    await install(c.agent);
    const result = await run(c.agent, "fail");
    expect(result).toMatchObject({ outcome: "exited", exitCode: 0, verdict: { status: "fail" } });
  });

  it("tells a rate limit from a failure", async () => {
    await install(c.agent);
    const result = await run(c.agent, "rate-limited");
    expect(result.outcome).toBe("rate-limited");
    expect(result.error).toContain(c.rateLimited);
    expect(result.nextAgent).toBeUndefined();
    expect(judge({ ...result, changed: false, timeoutMs: 10_000 })).toMatchObject({
      state: "failed",
      reason: result.error,
    });
  });

  it("tells missing credentials from a failure, and says how to give them", async () => {
    await install(c.agent);
    const result = await run(c.agent, "auth");
    expect(result.outcome).toBe("unavailable");
    expect(result.error).toContain(c.unavailable);
    expect(result.error).toContain("DROVER_AGENT_ENV");
  });

  it("says what to install when the CLI is not on PATH", async () => {
    const result = await run(c.agent);
    expect(result).toMatchObject({ agent: c.agent, outcome: "unavailable", exitCode: null });
    expect(result.error).toMatch(
      new RegExp(
        `^agent ${c.agent}: \`${c.agent}\` was not found on PATH; install .* or set agent_command to its path$`,
      ),
    );
  });
});

describe("runAgent with agent_command naming the CLI", () => {
  it("runs the program it names, with its leading arguments, before the adapter's own", async () => {
    const result = await run("codex", "pass", {
      agentCommand: [process.execPath, fixture("fake-codex.mjs")],
    });
    expect(result).toMatchObject({ outcome: "exited", verdict: { status: "pass" } });
    expect(argvSeen(result.verdict?.summary)[0]).toBe("exec");
  });

  it("appends agent_args", async () => {
    await install("opencode");
    const result = await run("opencode", "pass", { agentArgs: ["--model", "anthropic/claude-sonnet-4-5"] });
    expect(argvSeen(result.verdict?.summary)).toEqual([
      "run",
      "--format",
      "json",
      "--model",
      "anthropic/claude-sonnet-4-5",
    ]);
  });
});

describe("runAgent with a failover list", () => {
  it("uses the first agent, then the next one after it was unavailable", async () => {
    await install("codex");
    const first = await run(["claude", "codex"]);
    expect(first).toMatchObject({ agent: "claude", outcome: "unavailable", nextAgent: "codex" });
    const judgement = judge({ ...first, changed: false, timeoutMs: 10_000 });
    expect(judgement).toMatchObject({ state: "failed", failoverTo: "codex" });
    expect(judgement.reason).toMatch(
      /^agent claude: `claude` was not found on PATH; .*; the next attempt uses codex$/,
    );

    const second = await run(["claude", "codex"], "pass", {
      previousAttempts: [{ agent: first.agent, outcome: first.outcome }],
    });
    expect(second).toMatchObject({ agent: "codex", outcome: "exited", verdict: { status: "pass" } });
    expect(second.nextAgent).toBeUndefined();
  });

  it("moves on after a rate limit, and back to the first agent after the last", async () => {
    await install("claude");
    await install("amp");
    const limited = await run(["claude", "amp"], "rate-limited");
    expect(limited).toMatchObject({ agent: "claude", outcome: "rate-limited", nextAgent: "amp" });
    const again = await run(["claude", "amp"], "rate-limited", {
      previousAttempts: [{ agent: "claude", outcome: "rate-limited" }],
    });
    expect(again).toMatchObject({ agent: "amp", outcome: "rate-limited", nextAgent: "claude" });
  });

  it("keeps the agent after an ordinary failure", async () => {
    await install("claude");
    const result = await run(["claude", "codex"], "pass", {
      previousAttempts: [{ agent: "claude", outcome: "exited" }],
    });
    expect(result).toMatchObject({ agent: "claude", outcome: "exited" });
  });

  it("gives agent_command to command alone", async () => {
    const agentCommand = [process.execPath, fixture("edit-and-pass.mjs")];
    const first = await run(["codex", "command"], "pass", { agentCommand });
    expect(first).toMatchObject({ agent: "codex", outcome: "unavailable", nextAgent: "command" });
    const second = await run(["codex", "command"], "pass", {
      agentCommand,
      previousAttempts: [{ agent: "codex", outcome: "unavailable" }],
    });
    expect(second).toMatchObject({ agent: "command", outcome: "exited", verdict: { status: "pass" } });
  });
});

describe("runAgent with a CLI that will not finish by itself", () => {
  it("ends codex at once when it waits for a network that is not there, as unavailable", async () => {
    await install("codex");
    const result = await run("codex", "offline", { timeoutMs: 30_000, idleTimeoutMs: 60_000 });
    expect(result.outcome).toBe("unavailable");
    expect(result.durationMs).toBeLessThan(5_000);
    expect(result.error).toMatch(/^agent codex is unavailable \(Codex cannot reach its model service/);
    expect(result.error).toContain("CODEX_API_KEY");
  });

  it("ends amp at once when it asks someone to log in, as unavailable", async () => {
    await install("amp");
    const result = await run("amp", "login-prompt", { timeoutMs: 30_000, idleTimeoutMs: 60_000 });
    expect(result.outcome).toBe("unavailable");
    expect(result.durationMs).toBeLessThan(5_000);
    expect(result.error).toContain("AMP_API_KEY");
  });
});
