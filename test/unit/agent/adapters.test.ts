import { describe, expect, it } from "vitest";
import { agentNames, getAdapter } from "../../../src/agent/adapters/index.ts";
import { claudeAdapter } from "../../../src/agent/adapters/claude.ts";
import { commandAdapter } from "../../../src/agent/adapters/command.ts";

const input = { prompt: "Do it.", promptFile: "/work/attempt-1/prompt.md", agentArgs: [] as string[] };

describe("adapter registry", () => {
  it("knows claude and command", () => {
    expect(agentNames).toEqual(["claude", "command"]);
    expect(getAdapter("claude")).toBe(claudeAdapter);
    expect(getAdapter("nope")).toBeUndefined();
  });
});

describe("command adapter", () => {
  it("replaces {prompt_file} in every argument and gives the prompt on stdin", () => {
    const built = commandAdapter.build({
      ...input,
      agentCommand: ["node", "agent.mjs", "{prompt_file}", "--prompt={prompt_file}"],
      agentArgs: ["--extra", "{prompt_file}"],
    });
    expect(built).toEqual({
      file: "node",
      args: [
        "agent.mjs",
        "/work/attempt-1/prompt.md",
        "--prompt=/work/attempt-1/prompt.md",
        "--extra",
        "/work/attempt-1/prompt.md",
      ],
      stdin: "Do it.",
    });
  });

  it("needs agent_command", () => {
    const message =
      'agent: command needs agent_command in .github/drover.yml, e.g. agent_command: [node, scripts/agent.mjs, "{prompt_file}"]';
    expect(() => commandAdapter.build(input)).toThrow(message);
    expect(() => commandAdapter.build({ ...input, agentCommand: [] })).toThrow(message);
  });

  it("takes stdout as the final message", () => {
    expect(commandAdapter.parse("all\nof it\n")).toEqual({ finalMessage: "all\nof it\n" });
  });
});

describe("claude adapter", () => {
  it("runs print mode with JSON output and acceptEdits, then the repo's args", () => {
    expect(claudeAdapter.build({ ...input, agentArgs: ["--model", "sonnet"] })).toEqual({
      file: "claude",
      args: ["-p", "--output-format", "json", "--permission-mode", "acceptEdits", "--model", "sonnet"],
      stdin: "Do it.",
    });
  });

  it.each([
    ["--permission-mode", "bypassPermissions"],
    ["--permission-mode=plan"],
    ["--dangerously-skip-permissions"],
  ])("lets the repo choose the permission mode (%s)", (...agentArgs) => {
    const { args } = claudeAdapter.build({ ...input, agentArgs });
    expect(args).toEqual(["-p", "--output-format", "json", ...agentArgs]);
  });

  it("uses agent_command as the claude program", () => {
    const built = claudeAdapter.build({ ...input, agentCommand: ["/opt/claude/bin/claude"] });
    expect(built.file).toBe("/opt/claude/bin/claude");
    expect(built.args[0]).toBe("-p");
  });

  const result = {
    type: "result",
    subtype: "success",
    is_error: false,
    duration_ms: 1000,
    num_turns: 6,
    result: "Done.\n```drover-verdict\n{}\n```",
    session_id: "abc",
    total_cost_usd: 0.12,
  };

  it("reads the JSON result", () => {
    expect(claudeAdapter.parse(JSON.stringify(result))).toEqual({
      finalMessage: result.result,
      costUsd: 0.12,
      turns: 6,
      sessionId: "abc",
      isError: false,
    });
  });

  it("reads the result line of stream-json output and a verbose array", () => {
    const stream = [JSON.stringify({ type: "system", subtype: "init" }), JSON.stringify(result), ""].join(
      "\n",
    );
    expect(claudeAdapter.parse(stream).costUsd).toBe(0.12);
    const array = JSON.stringify([{ type: "system", subtype: "init" }, result]);
    expect(claudeAdapter.parse(array).turns).toBe(6);
  });

  it("describes an error result without text", () => {
    const error = {
      type: "result",
      subtype: "error_max_turns",
      is_error: true,
      num_turns: 50,
      cost_usd: 1.5,
    };
    expect(claudeAdapter.parse(JSON.stringify(error))).toEqual({
      finalMessage: "Claude Code ended with error_max_turns",
      turns: 50,
      costUsd: 1.5,
      isError: true,
    });
  });

  it("falls back to the raw output when it is not JSON", () => {
    expect(claudeAdapter.parse("Error: Invalid API key\n")).toEqual({
      finalMessage: "Error: Invalid API key\n",
    });
    expect(claudeAdapter.parse('{"type": "result", "res')).toEqual({
      finalMessage: '{"type": "result", "res',
    });
  });
});
