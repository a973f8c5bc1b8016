import { describe, expect, it } from "vitest";
import { agentForAttempt } from "../../../src/agent/failover.ts";

const both = ["claude", "codex"];

describe("agentForAttempt", () => {
  it("starts with the first agent", () => {
    expect(agentForAttempt(both, [])).toBe("claude");
    expect(agentForAttempt(["codex"], [])).toBe("codex");
  });

  it.each(["unavailable", "rate-limited"])("moves to the next agent after one that was %s", (outcome) => {
    expect(agentForAttempt(both, [{ agent: "claude", outcome }])).toBe("codex");
  });

  it.each(["exited", "timed-out", "spawn-failed", "cancelled"])(
    "keeps the agent after an attempt that %s: the task, not the agent, was the trouble",
    (outcome) => {
      expect(agentForAttempt(both, [{ agent: "claude", outcome }])).toBe("claude");
      expect(
        agentForAttempt(both, [
          { agent: "claude", outcome: "rate-limited" },
          { agent: "codex", outcome },
        ]),
      ).toBe("codex");
    },
  );

  it("wraps around to the first agent after the last", () => {
    const three = ["claude", "codex", "amp"];
    expect(
      agentForAttempt(three, [
        { agent: "claude", outcome: "rate-limited" },
        { agent: "codex", outcome: "unavailable" },
      ]),
    ).toBe("amp");
    expect(
      agentForAttempt(three, [
        { agent: "claude", outcome: "rate-limited" },
        { agent: "codex", outcome: "unavailable" },
        { agent: "amp", outcome: "rate-limited" },
      ]),
    ).toBe("claude");
  });

  it("stays on a single agent whatever happened", () => {
    expect(agentForAttempt(["claude"], [{ agent: "claude", outcome: "rate-limited" }])).toBe("claude");
  });

  it("goes by the last attempt only", () => {
    expect(
      agentForAttempt(both, [
        { agent: "claude", outcome: "rate-limited" },
        { agent: "codex", outcome: "exited" },
        { agent: "codex", outcome: "exited" },
      ]),
    ).toBe("codex");
  });

  it("starts again from the first agent when the last one is no longer listed", () => {
    expect(agentForAttempt(both, [{ agent: "amp", outcome: "rate-limited" }])).toBe("claude");
    expect(agentForAttempt(both, [{ agent: "amp", outcome: "exited" }])).toBe("claude");
  });

  it("refuses an empty list", () => {
    expect(() => agentForAttempt([], [])).toThrow(/empty/);
  });
});
