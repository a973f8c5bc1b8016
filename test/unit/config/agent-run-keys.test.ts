import { describe, expect, it } from "vitest";
import { readEnv } from "../../../src/config/env.ts";
import { parseConfig } from "../../../src/config/parse.ts";
import { taskConfig } from "../../../src/config/stored.ts";

/** The settings of issue 14: `agent_idle_timeout` in drover.yml, DROVER_AGENT_CREDENTIALS on the worker. */
describe("agent_idle_timeout", () => {
  it("reads human durations, at least 10s", () => {
    const idle = (value: unknown) => {
      const result = parseConfig({ agent_idle_timeout: value });
      return result.ok ? result.config.agent_idle_timeout : result.problems;
    };
    expect(idle("90s")).toBe(90_000);
    expect(idle("10s")).toBe(10_000);
    expect(idle("2m")).toBe(120_000);
    expect(idle(undefined)).toBe(5 * 60_000);
  });

  it("refuses a limit too short for an agent that thinks before it prints, saying why", () => {
    const result = parseConfig({ agent_idle_timeout: "5s" });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems).toEqual([
      {
        key: "agent_idle_timeout",
        value: "5s",
        message: "must be at least 10s: agents often think for a while before they print anything",
      },
    ]);
    const soon = parseConfig({ agent_idle_timeout: "soon" });
    expect(!soon.ok && soon.problems[0]?.message).toBe("expected a duration such as 90s, 30m or 2h");
  });

  it("is 5m for a task stored before the key existed, and kept as stored otherwise", () => {
    const before = { label: "drover", agent: ["claude"], task_timeout: 1_200_000 };
    expect(taskConfig({ id: 1, config: before }).agent_idle_timeout).toBe(5 * 60_000);
    expect(taskConfig({ id: 1, config: { ...before, agent_idle_timeout: 90_000 } }).agent_idle_timeout).toBe(
      90_000,
    );
  });
});

describe("DROVER_AGENT_CREDENTIALS", () => {
  it("splits the list into files, none by default", () => {
    expect(readEnv({}).DROVER_AGENT_CREDENTIALS).toEqual([]);
    expect(
      readEnv({
        DROVER_AGENT_CREDENTIALS: " ~/.codex/auth.json, ,/home/drover/.local/share/opencode/auth.json",
      }).DROVER_AGENT_CREDENTIALS,
    ).toEqual(["~/.codex/auth.json", "/home/drover/.local/share/opencode/auth.json"]);
  });
});
