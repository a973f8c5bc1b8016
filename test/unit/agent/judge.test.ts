import { describe, expect, it } from "vitest";
import { agentWord, judge, withChecks, type JudgeInput } from "../../../src/agent/judge.ts";

const base: JudgeInput = {
  outcome: "exited",
  exitCode: 0,
  verdict: { status: "pass", summary: "Fixed the parser" },
  changed: true,
  timeoutMs: 30 * 60_000,
};

describe("judge", () => {
  it("passes a clean exit with changes and a pass verdict", () => {
    expect(judge(base)).toEqual({
      conclusion: "success",
      state: "review",
      reason: "the agent reported success",
      summary: "Fixed the parser",
    });
  });

  it("fails an agent that could not start", () => {
    const result = judge({
      ...base,
      outcome: "spawn-failed",
      exitCode: null,
      verdict: null,
      error: "program 'claude' was not found",
    });
    expect(result).toMatchObject({
      conclusion: "failure",
      state: "failed",
      reason: "agent could not start: program 'claude' was not found",
    });
  });

  it("fails a timeout, naming the limit", () => {
    const result = judge({ ...base, outcome: "timed-out", exitCode: null });
    expect(result).toMatchObject({
      conclusion: "failure",
      state: "failed",
      reason: "agent timed out after 30m",
    });
  });

  it("marks a cancelled run neutral", () => {
    expect(judge({ ...base, outcome: "cancelled", exitCode: null, verdict: null })).toMatchObject({
      conclusion: "neutral",
      state: "cancelled",
      reason: "cancelled",
    });
  });

  it("fails a non-zero exit even with a pass verdict", () => {
    expect(judge({ ...base, exitCode: 2 })).toMatchObject({
      conclusion: "failure",
      state: "failed",
      reason: "agent exited with code 2",
    });
  });

  it("names the signal when the agent was killed from outside", () => {
    expect(judge({ ...base, exitCode: null, signal: "SIGSEGV" })).toMatchObject({
      reason: "agent was killed by SIGSEGV",
    });
  });

  it("blocks with the blocker quoted", () => {
    const result = judge({
      ...base,
      changed: false,
      verdict: { status: "blocked", summary: "Stuck", blocker: "which API version?" },
    });
    expect(result).toEqual({
      conclusion: "neutral",
      state: "blocked",
      reason: 'the agent is blocked: "which API version?"',
      summary: "Stuck",
    });
  });

  it("fails a fail verdict", () => {
    expect(judge({ ...base, verdict: { status: "fail", summary: "Tests fail" } })).toMatchObject({
      conclusion: "failure",
      state: "failed",
      reason: "the agent reported failure",
      summary: "Tests fail",
    });
  });

  it("fails a pass verdict when nothing changed", () => {
    expect(judge({ ...base, changed: false })).toMatchObject({
      conclusion: "failure",
      reason: "the agent changed nothing",
    });
  });

  it("judges by exit status and changes when the verdict is missing, and says so", () => {
    const result = judge({ ...base, verdict: null, verdictProblem: "no drover-verdict block found" });
    expect(result).toMatchObject({
      conclusion: "success",
      state: "review",
      reason: "no verdict block: judged by exit status and changes (no drover-verdict block found)",
    });
  });

  it("fails a missing verdict with no changes", () => {
    expect(judge({ ...base, verdict: null, changed: false })).toMatchObject({
      conclusion: "failure",
      reason: "the agent changed nothing",
    });
  });

  it("fails an agent that exited non-zero and names what it said went wrong", () => {
    const result = judge({
      ...base,
      exitCode: 1,
      verdict: null,
      agentError: "stream disconnected before completion\nCaused by: timeout",
    });
    expect(result.reason).toBe("agent exited with code 1: stream disconnected before completion");
  });

  it("fails a clean exit when the agent reported an error of its own", () => {
    const result = judge({ ...base, isError: true, agentError: "Claude Code ended with error_max_turns" });
    expect(result).toMatchObject({
      conclusion: "failure",
      state: "failed",
      reason: "the agent reported an error: Claude Code ended with error_max_turns",
    });
    expect(judge({ ...base, isError: true }).reason).toBe("the agent reported an error");
    expect(judge({ ...base, isError: false }).state).toBe("review");
  });

  const unavailable: JudgeInput = {
    ...base,
    outcome: "unavailable",
    exitCode: null,
    verdict: null,
    changed: false,
    agent: "codex",
    error:
      "agent codex: `codex` was not found on PATH; install Codex CLI on the worker (npm i -g @openai/codex) or set agent_command to its path",
  };

  it("fails an unavailable agent with the reason and no failover when no other agent can take over", () => {
    expect(judge(unavailable)).toEqual({
      conclusion: "failure",
      state: "failed",
      reason: unavailable.error,
      summary: "The agent could not run.",
    });
    expect(judge({ ...unavailable, nextAgent: "codex" }).failoverTo).toBeUndefined();
  });

  it("names the agent a failover list moves on to", () => {
    const result = judge({
      ...unavailable,
      outcome: "rate-limited",
      agent: "claude",
      error: "agent claude is rate-limited (API Error: Rate limit reached)",
      nextAgent: "codex",
    });
    expect(result).toEqual({
      conclusion: "failure",
      state: "failed",
      reason: "agent claude is rate-limited (API Error: Rate limit reached); the next attempt uses codex",
      summary: "The agent hit a usage or rate limit.",
      failoverTo: "codex",
    });
  });

  it("has a stand-in reason when the runner gave none", () => {
    expect(judge({ ...unavailable, outcome: "rate-limited", error: undefined }).reason).toBe(
      "the agent is rate-limited",
    );
    expect(judge({ ...unavailable, error: undefined }).reason).toBe("the agent is unavailable");
  });

  it("never fails over from a run that failed for the task's sake", () => {
    expect(judge({ ...base, exitCode: 1, nextAgent: "codex" }).failoverTo).toBeUndefined();
  });
});

describe("withChecks", () => {
  const passing = {
    conclusion: "success",
    state: "review",
    reason: "the agent reported success",
    summary: "Did it.",
  } as const;

  it("keeps a pass when every check passes, and says so", () => {
    const out = withChecks(passing, [
      { command: "npm test", outcome: "passed", exitCode: 0 },
      { command: "npm run lint", outcome: "passed", exitCode: 0 },
    ]);
    expect(out).toMatchObject({ state: "review", conclusion: "success" });
    expect(out.reason).toBe("the agent reported success; all 2 checks passed");
  });

  it("fails a pass when a check fails or runs out of time, naming the first", () => {
    expect(withChecks(passing, [{ command: "npm test", outcome: "failed", exitCode: 1 }])).toMatchObject({
      state: "failed",
      conclusion: "failure",
      reason: "check `npm test` failed (exit 1)",
      summary: "Did it.",
    });
    expect(
      withChecks(passing, [
        { command: "npm test", outcome: "timed-out", exitCode: null },
        { command: "npm run lint", outcome: "failed", exitCode: 2 },
      ]).reason,
    ).toBe("check `npm test` ran out of time and 1 more");
  });

  it("leaves other judgements as they are", () => {
    const blocked = { conclusion: "neutral", state: "blocked", reason: "needs a key", summary: "" } as const;
    expect(withChecks(blocked, [{ command: "x", outcome: "failed", exitCode: 1 }])).toBe(blocked);
  });
});

describe("agentWord", () => {
  it("is the verdict's status, or unknown", () => {
    expect(agentWord({ status: "pass" })).toBe("pass");
    expect(agentWord({ status: "blocked" })).toBe("blocked");
    expect(agentWord(null)).toBe("unknown");
  });
});
