import { describe, expect, it } from "vitest";
import { judge, type JudgeInput } from "../../../src/agent/judge.ts";

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
});
