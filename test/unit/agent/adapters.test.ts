import { describe, expect, it } from "vitest";
import { agentNames, getAdapter, type AgentReport } from "../../../src/agent/adapters/index.ts";
import { ampAdapter } from "../../../src/agent/adapters/amp.ts";
import { claudeAdapter } from "../../../src/agent/adapters/claude.ts";
import { classifyFailure } from "../../../src/agent/adapters/classify-exit.ts";
import { codexAdapter } from "../../../src/agent/adapters/codex.ts";
import { commandAdapter } from "../../../src/agent/adapters/command.ts";
import { opencodeAdapter } from "../../../src/agent/adapters/opencode.ts";
import { AGENTS } from "../../../src/config/schema.ts";

const input = { prompt: "Do it.", promptFile: "/work/attempt-1/prompt.md", agentArgs: [] as string[] };

const jsonl = (...events: unknown[]): string =>
  events.map((event) => JSON.stringify(event)).join("\n") + "\n";
const verdict = '```drover-verdict\n{"status": "pass", "summary": "Done"}\n```';
const ended = (
  exitCode: number | null,
  report: AgentReport,
  stderrTail = "",
  stdoutTail = "",
): { exitCode: number | null; report: AgentReport; stderrTail: string; stdoutTail: string } => ({
  exitCode,
  report,
  stderrTail,
  stdoutTail,
});

describe("adapter registry", () => {
  it("knows claude, codex, amp, opencode and command, as drover.yml does", () => {
    expect(agentNames).toEqual(["claude", "codex", "amp", "opencode", "command"]);
    expect(agentNames).toEqual([...AGENTS]);
    expect(getAdapter("claude")).toBe(claudeAdapter);
    expect(getAdapter("codex")).toBe(codexAdapter);
    expect(getAdapter("amp")).toBe(ampAdapter);
    expect(getAdapter("opencode")).toBe(opencodeAdapter);
    expect(getAdapter("nope")).toBeUndefined();
  });

  it.each(agentNames.filter((name) => name !== "command"))("says how to install and log in to %s", (name) => {
    const adapter = getAdapter(name);
    expect(adapter?.installHint).toMatch(/^install .* or set agent_command to its path$/);
    expect(adapter?.authHint).toContain("DROVER_AGENT_ENV");
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

  it("goes by the exit status alone, never guessing at a rate limit", () => {
    expect(commandAdapter.classify(ended(0, { finalMessage: "" }))).toEqual({ exit: "ok" });
    expect(commandAdapter.classify(ended(1, { finalMessage: "" }, "429 Too Many Requests"))).toEqual({
      exit: "failed",
    });
  });
});

describe("claude adapter", () => {
  const STREAMING = ["-p", "--input-format", "stream-json", "--output-format", "stream-json", "--verbose"];

  it("runs print mode with streaming JSON both ways and acceptEdits, then the repo's args", () => {
    const built = claudeAdapter.build({ ...input, agentArgs: ["--model", "sonnet"] });
    expect(built).toMatchObject({
      file: "claude",
      args: [...STREAMING, "--permission-mode", "acceptEdits", "--model", "sonnet"],
    });
    // The prompt is the first user message; a hint is another; a result line ends each answer.
    expect(JSON.parse(built.stdin)).toEqual({
      type: "user",
      message: { role: "user", content: [{ type: "text", text: "Do it." }] },
    });
    expect(built.stdin.endsWith("\n")).toBe(true);
    expect(JSON.parse(built.live?.message("Use tabs.") ?? "{}")).toMatchObject({
      message: { content: [{ type: "text", text: "Use tabs." }] },
    });
    expect(built.live?.endsTurn('{"type":"result","subtype":"success","result":"done"}')).toBe(true);
    expect(built.live?.endsTurn('{"type":"assistant","message":{}}')).toBe(false);
    expect(built.live?.endsTurn("not json")).toBe(false);
  });

  it("runs the one-shot JSON mode when the repo chooses formats in agent_args", () => {
    const built = claudeAdapter.build({
      ...input,
      agentArgs: ["--output-format", "stream-json", "--verbose"],
    });
    expect(built).toEqual({
      file: "claude",
      args: [
        "-p",
        "--output-format",
        "json",
        "--permission-mode",
        "acceptEdits",
        "--output-format",
        "stream-json",
        "--verbose",
      ],
      stdin: "Do it.",
      env: {
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
        DISABLE_AUTOUPDATER: "1",
        CLAUDE_CODE_MAX_RETRIES: "4",
      },
    });
  });

  it("reads every answer of a streamed run, so the last verdict given counts", () => {
    const result = (text: string, cost: number) =>
      JSON.stringify({
        type: "result",
        subtype: "success",
        result: text,
        total_cost_usd: cost,
        num_turns: 2,
      });
    const report = claudeAdapter.parse(
      [
        '{"type":"system","subtype":"init"}',
        result("First answer.", 0.1),
        '{"type":"assistant","message":{}}',
        result("Took the hint.", 0.3),
        "",
      ].join("\n"),
    );
    // Each answer counts its own turns (2 + 2); the cost is a running total.
    expect(report).toMatchObject({ finalMessage: "First answer.\n\nTook the hint.", costUsd: 0.3, turns: 4 });
  });

  it.each([
    ["--permission-mode", "bypassPermissions"],
    ["--permission-mode=plan"],
    ["--dangerously-skip-permissions"],
  ])("lets the repo choose the permission mode (%s)", (...agentArgs) => {
    const { args } = claudeAdapter.build({ ...input, agentArgs });
    expect(args).toEqual([...STREAMING, ...agentArgs]);
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
      error: "Claude Code ended with error_max_turns",
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

describe("claude adapter: tokens and how a run ended", () => {
  const base = { type: "result", subtype: "success", num_turns: 3, session_id: "s", total_cost_usd: 0.2 };

  it("counts input tokens with cache reads and writes, as the API bills them", () => {
    const usage = {
      input_tokens: 12,
      cache_creation_input_tokens: 300,
      cache_read_input_tokens: 4000,
      output_tokens: 55,
      server_tool_use: { web_search_requests: 0 },
    };
    const report = claudeAdapter.parse(JSON.stringify({ ...base, is_error: false, result: "ok", usage }));
    expect(report).toMatchObject({ inputTokens: 4312, outputTokens: 55 });
  });

  it("is ok on a clean exit without an error result", () => {
    const report = claudeAdapter.parse(JSON.stringify({ ...base, is_error: false, result: verdict }));
    expect(claudeAdapter.classify(ended(0, report))).toEqual({ exit: "ok" });
  });

  it("takes a rate-limit error result for what it is, even when claude exits 0", () => {
    const stdout = JSON.stringify({ ...base, is_error: true, result: "API Error: Rate limit reached" });
    expect(claudeAdapter.classify(ended(0, claudeAdapter.parse(stdout), "", stdout))).toEqual({
      exit: "rate-limited",
      detail: "API Error: Rate limit reached",
    });
  });

  it.each([
    ["Claude AI usage limit reached|1753088400", "rate-limited"],
    [
      'API Error: 529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
      "rate-limited",
    ],
    [
      'API Error: 429 {"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed your account\'s rate limit."}}',
      "rate-limited",
    ],
    ["Invalid API key · Please run /login", "unavailable"],
    ["Credit balance is too low", "unavailable"],
    ["OAuth token has expired. Please obtain a new token or refresh your existing token.", "unavailable"],
    ["Claude Code ended with error_max_turns", "failed"],
  ])("reads %j as %s", (message, exit) => {
    const report = claudeAdapter.parse(JSON.stringify({ ...base, is_error: true, result: message }));
    expect(claudeAdapter.classify(ended(1, report)).exit).toBe(exit);
  });

  it("reads the plain-text error of a claude that failed before its result", () => {
    const stdout = "Invalid API key · Please run /login\n";
    const report = claudeAdapter.parse(stdout);
    expect(claudeAdapter.classify(ended(1, report, "", stdout))).toEqual({
      exit: "unavailable",
      detail: "Invalid API key · Please run /login",
    });
  });

  it("looks at stderr for retries that ran out", () => {
    const stderr =
      'API Error (529 {"type":"error","error":{"type":"overloaded_error"}}) · Retrying in 9 seconds…\n';
    expect(claudeAdapter.classify(ended(1, { finalMessage: "", isError: false }, stderr)).exit).toBe(
      "rate-limited",
    );
  });

  it("does not read rate limits into a successful run's text", () => {
    const report = claudeAdapter.parse(
      JSON.stringify({ ...base, is_error: false, result: "I added rate limiting (HTTP 429) to the API." }),
    );
    expect(claudeAdapter.classify(ended(0, report, "rate limit"))).toEqual({ exit: "ok" });
  });
});

// The sample output in https://github.com/openai/codex/blob/main/docs/exec.md, ending with a verdict.
const codexRun = jsonl(
  { type: "thread.started", thread_id: "0199a213-81c0-7800-8aa1-bbab2a035a53" },
  { type: "turn.started" },
  {
    type: "item.completed",
    item: { id: "item_0", type: "reasoning", text: "**Searching for README files**" },
  },
  {
    type: "item.started",
    item: {
      id: "item_1",
      type: "command_execution",
      command: "bash -lc ls",
      aggregated_output: "",
      status: "in_progress",
    },
  },
  {
    type: "item.completed",
    item: {
      id: "item_1",
      type: "command_execution",
      command: "bash -lc ls",
      aggregated_output: "AGENTS.md\nREADME.md\n",
      exit_code: 0,
      status: "completed",
    },
  },
  {
    type: "item.completed",
    item: { id: "item_2", type: "agent_message", text: "Looking at the README first." },
  },
  {
    type: "item.completed",
    item: {
      id: "item_3",
      type: "file_change",
      changes: [{ path: "README.md", kind: "update" }],
      status: "completed",
    },
  },
  {
    type: "item.completed",
    item: { id: "item_4", type: "agent_message", text: `Updated the README.\n\n${verdict}` },
  },
  { type: "turn.completed", usage: { input_tokens: 24763, cached_input_tokens: 24448, output_tokens: 122 } },
);

describe("codex adapter", () => {
  it("runs exec with JSON events in the workspace-write sandbox, the prompt on stdin", () => {
    expect(codexAdapter.build({ ...input, agentArgs: ["--model", "gpt-5-codex"] })).toEqual({
      file: "codex",
      args: [
        "exec",
        "--json",
        "--sandbox",
        "workspace-write",
        "--skip-git-repo-check",
        "-c",
        "analytics.enabled=false",
        "--model",
        "gpt-5-codex",
        "-",
      ],
      stdin: "Do it.",
    });
  });

  it("uses agent_command as the codex program and its leading arguments", () => {
    const built = codexAdapter.build({ ...input, agentCommand: ["node", "/opt/codex/bin/codex.js"] });
    expect(built.file).toBe("node");
    expect(built.args.slice(0, 3)).toEqual(["/opt/codex/bin/codex.js", "exec", "--json"]);
    expect(built.args.at(-1)).toBe("-");
  });

  it.each([
    ["--sandbox", "danger-full-access"],
    ["-s", "read-only"],
    ["--sandbox=danger-full-access"],
    ["--dangerously-bypass-approvals-and-sandbox"],
    ["-c", "sandbox_mode=danger-full-access"],
  ])("lets the repo choose the sandbox (%s)", (...agentArgs) => {
    const { args } = codexAdapter.build({ ...input, agentArgs });
    expect(args).toEqual([
      "exec",
      "--json",
      "--skip-git-repo-check",
      "-c",
      "analytics.enabled=false",
      ...agentArgs,
      "-",
    ]);
  });

  it("does not repeat a flag the repo already gives", () => {
    const { args } = codexAdapter.build({ ...input, agentArgs: ["--json", "--skip-git-repo-check"] });
    expect(args.filter((arg) => arg === "--json")).toHaveLength(1);
    expect(args.filter((arg) => arg === "--skip-git-repo-check")).toHaveLength(1);
  });

  it("reads the last agent message, the thread id and the tokens", () => {
    expect(codexAdapter.parse(codexRun)).toEqual({
      finalMessage: `Updated the README.\n\n${verdict}`,
      sessionId: "0199a213-81c0-7800-8aa1-bbab2a035a53",
      inputTokens: 24763,
      outputTokens: 122,
      isError: false,
    });
    expect(codexAdapter.classify(ended(0, codexAdapter.parse(codexRun)))).toEqual({ exit: "ok" });
  });

  it("adds up usage over turns and ignores a reconnect it recovered from", () => {
    const stdout = jsonl(
      { type: "thread.started", thread_id: "t" },
      { type: "error", message: "Reconnecting... 1/5 (429 Too Many Requests)" },
      { type: "turn.completed", usage: { input_tokens: 10, cached_input_tokens: 0, output_tokens: 1 } },
      { type: "item.completed", item: { id: "i", type: "agent_message", text: "done" } },
      { type: "turn.completed", usage: { input_tokens: 5, cached_input_tokens: 5, output_tokens: 2 } },
    );
    const report = codexAdapter.parse(stdout);
    expect(report).toMatchObject({ inputTokens: 15, outputTokens: 3, isError: false, finalMessage: "done" });
    expect(codexAdapter.classify(ended(0, report, "", stdout))).toEqual({ exit: "ok" });
  });

  it("reads a failed turn", () => {
    const message =
      "You've hit your usage limit. Upgrade to Pro (https://openai.com/chatgpt/pricing) or try again in 2 days.";
    const report = codexAdapter.parse(
      jsonl(
        { type: "thread.started", thread_id: "t" },
        { type: "turn.started" },
        { type: "error", message },
        { type: "turn.failed", error: { message } },
      ),
    );
    expect(report).toEqual({ finalMessage: "", sessionId: "t", isError: true, error: message });
    expect(codexAdapter.classify(ended(1, report))).toEqual({ exit: "rate-limited", detail: message });
  });

  it("reads a fatal stream error when no turn completed", () => {
    const report = codexAdapter.parse(
      jsonl({ type: "thread.started", thread_id: "t" }, { type: "error", message: "boom" }),
    );
    expect(report).toMatchObject({ isError: true, error: "boom" });
  });

  it.each([
    ["exceeded retry limit, last status: 429 Too Many Requests, request id: c4fc59ca", "rate-limited"],
    // No credit is unavailable (README), though OpenAI sends it as a 429.
    ["Quota exceeded. Check your plan and billing details.", "unavailable"],
    ["unexpected status 401 Unauthorized: Missing bearer or basic authentication in header", "unavailable"],
    ["Not logged in. Run `codex login`, or set CODEX_API_KEY.", "unavailable"],
    ["stream disconnected before completion: error sending request for url", "failed"],
  ])("reads the turn failure %j as %s", (message, exit) => {
    const report = codexAdapter.parse(jsonl({ type: "turn.failed", error: { message } }));
    expect(codexAdapter.classify(ended(1, report)).exit).toBe(exit);
  });

  it("reads stderr and plain stdout when the event stream never began", () => {
    const report = codexAdapter.parse("Error: Not logged in\n");
    expect(report).toEqual({ finalMessage: "Error: Not logged in\n" });
    expect(codexAdapter.classify(ended(1, report, "", "Error: Not logged in\n")).exit).toBe("unavailable");
    expect(codexAdapter.classify(ended(1, { finalMessage: "" }, "ERROR: rate limit exceeded")).exit).toBe(
      "rate-limited",
    );
  });

  it("does not search the agent's own event payloads for errors", () => {
    const stdout = jsonl({
      type: "item.completed",
      item: {
        id: "i",
        type: "command_execution",
        aggregated_output: "429 Too Many Requests",
        status: "completed",
      },
    });
    expect(codexAdapter.classify(ended(1, codexAdapter.parse(stdout), "", stdout)).exit).toBe("failed");
  });
});

// Shaped like https://ampcode.com/news/streaming-json, with a tool call first.
const ampRun = jsonl(
  { type: "system", subtype: "init", cwd: "/w", session_id: "T-1", tools: ["Bash"], mcp_servers: [] },
  {
    type: "user",
    message: { role: "user", content: [{ type: "text", text: "Do it." }] },
    parent_tool_use_id: null,
    session_id: "T-1",
  },
  {
    type: "assistant",
    message: {
      type: "message",
      id: "m1",
      role: "assistant",
      content: [{ type: "tool_use", id: "t1", name: "edit_file", input: {} }],
      stop_reason: "tool_use",
      usage: {
        input_tokens: 100,
        cache_creation_input_tokens: 367,
        cache_read_input_tokens: 12416,
        output_tokens: 8,
      },
    },
    parent_tool_use_id: null,
    session_id: "T-1",
  },
  {
    type: "assistant",
    message: {
      type: "message",
      id: "m2",
      role: "assistant",
      content: [{ type: "text", text: `Done.\n\n${verdict}` }],
      stop_reason: "end_turn",
      usage: {
        input_tokens: 50,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 12783,
        output_tokens: 40,
      },
    },
    parent_tool_use_id: null,
    session_id: "T-1",
  },
  {
    type: "result",
    subtype: "success",
    duration_ms: 2906,
    is_error: false,
    num_turns: 2,
    result: `Done.\n\n${verdict}`,
    session_id: "T-1",
  },
);

describe("amp adapter", () => {
  it("runs execute mode with stream JSON, the prompt on stdin", () => {
    expect(ampAdapter.build({ ...input, agentArgs: ["--dangerously-allow-all"] })).toEqual({
      file: "amp",
      args: ["--execute", "--stream-json", "--dangerously-allow-all"],
      stdin: "Do it.",
      env: { AMP_REMOTE_CONTROL_TERMINAL: "0" },
    });
    const built = ampAdapter.build({ ...input, agentCommand: ["/home/amp/.amp/bin/amp"], agentArgs: ["-x"] });
    expect(built).toMatchObject({ file: "/home/amp/.amp/bin/amp", args: ["--stream-json", "-x"] });
  });

  it("reads the result, the thread id, the turns and the tokens", () => {
    expect(ampAdapter.parse(ampRun)).toEqual({
      finalMessage: `Done.\n\n${verdict}`,
      sessionId: "T-1",
      turns: 2,
      inputTokens: 100 + 367 + 12416 + 50 + 12783,
      outputTokens: 48,
      isError: false,
    });
    expect(ampAdapter.classify(ended(0, ampAdapter.parse(ampRun)))).toEqual({ exit: "ok" });
  });

  it("counts a message streamed in parts once", () => {
    const part = {
      type: "assistant",
      message: {
        id: "m1",
        content: [{ type: "text", text: "a" }],
        usage: { input_tokens: 10, output_tokens: 5 },
      },
    };
    expect(ampAdapter.parse(jsonl(part, part))).toMatchObject({
      inputTokens: 10,
      outputTokens: 5,
      finalMessage: "a",
    });
  });

  it("reads an error result", () => {
    const stdout = jsonl({
      type: "result",
      subtype: "error_during_execution",
      is_error: true,
      num_turns: 0,
      error: '429 {"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}',
      session_id: "T-2",
    });
    const report = ampAdapter.parse(stdout);
    expect(report).toMatchObject({ isError: true, sessionId: "T-2", turns: 0 });
    expect(ampAdapter.classify(ended(1, report, "", stdout)).exit).toBe("rate-limited");
  });

  it.each([
    ["Error: Not logged in. Run `amp login` or set AMP_API_KEY.", "unavailable"],
    ["Error: You are out of free credits. Add credits at ampcode.com/settings.", "unavailable"],
    ["Error: 429 Too Many Requests", "rate-limited"],
    ["Error: ENOSPC: no space left on device", "failed"],
  ])("reads stderr %j as %s", (stderr, exit) => {
    expect(ampAdapter.classify(ended(1, ampAdapter.parse(""), stderr)).exit).toBe(exit);
  });
});

const event = (type: string, fields: object): object => ({
  type,
  timestamp: 1,
  sessionID: "ses_1",
  ...fields,
});
const stepFinish = (cost: number, input: number, output: number): object =>
  event("step_finish", {
    part: {
      type: "step-finish",
      reason: "stop",
      cost,
      tokens: { input, output, reasoning: 3, cache: { read: 100, write: 10 } },
    },
  });

describe("opencode adapter", () => {
  it("runs `opencode run` with JSON events, the prompt on stdin", () => {
    expect(
      opencodeAdapter.build({ ...input, agentArgs: ["--model", "anthropic/claude-sonnet-4-5"] }),
    ).toEqual({
      file: "opencode",
      args: ["run", "--format", "json", "--model", "anthropic/claude-sonnet-4-5"],
      stdin: "Do it.",
      env: {
        OPENCODE_PRINT_LOGS: "1",
        OPENCODE_LOG_LEVEL: "WARN",
        OPENCODE_DISABLE_AUTOUPDATE: "1",
        OPENCODE_DISABLE_MODELS_FETCH: "1",
      },
    });
    expect(opencodeAdapter.build({ ...input, agentCommand: ["/usr/local/bin/opencode"] }).file).toBe(
      "/usr/local/bin/opencode",
    );
  });

  it("reads the last step's text, the session, steps as turns, cost and tokens", () => {
    const stdout = jsonl(
      event("step_start", { part: { type: "step-start" } }),
      event("text", { part: { type: "text", text: "Let me look." } }),
      event("tool_use", { part: { type: "tool", tool: "read", state: { status: "completed" } } }),
      stepFinish(0.01, 2000, 80),
      event("step_start", { part: { type: "step-start" } }),
      event("text", { part: { type: "text", text: "Fixed it." } }),
      event("text", { part: { type: "text", text: verdict } }),
      stepFinish(0.005, 300, 40),
      event("done", { reason: "idle", rejected: [] }),
    );
    const report = opencodeAdapter.parse(stdout);
    expect(report).toEqual({
      finalMessage: `Fixed it.\n\n${verdict}`,
      sessionId: "ses_1",
      turns: 2,
      costUsd: 0.015,
      inputTokens: 2110 + 410,
      outputTokens: 83 + 43,
      isError: false,
    });
    expect(opencodeAdapter.classify(ended(0, report))).toEqual({ exit: "ok" });
  });

  it("keeps the last text when the final step only called tools", () => {
    const stdout = jsonl(
      event("text", { part: { type: "text", text: "All done." } }),
      event("step_start", { part: { type: "step-start" } }),
      event("tool_use", { part: { type: "tool", tool: "bash" } }),
    );
    expect(opencodeAdapter.parse(stdout).finalMessage).toBe("All done.");
  });

  it("takes an error event as a failed run, even when opencode exits 0", () => {
    const auth = opencodeAdapter.parse(
      jsonl(
        event("error", {
          error: {
            name: "ProviderAuthError",
            data: { providerID: "anthropic", message: "No API key found" },
          },
        }),
      ),
    );
    expect(auth).toMatchObject({ isError: true, error: "ProviderAuthError: No API key found" });
    expect(opencodeAdapter.classify(ended(0, auth)).exit).toBe("unavailable");

    const limited = opencodeAdapter.parse(
      jsonl(event("error", { error: { name: "APIError", data: { message: "Slow down", statusCode: 429 } } })),
    );
    expect(limited.error).toBe("APIError: Slow down (HTTP 429)");
    expect(opencodeAdapter.classify(ended(1, limited))).toEqual({
      exit: "rate-limited",
      detail: "APIError: Slow down (HTTP 429)",
    });

    const other = opencodeAdapter.parse(
      jsonl(event("error", { error: { name: "UnknownError", data: { message: "oops" } } })),
    );
    expect(opencodeAdapter.classify(ended(1, other)).exit).toBe("failed");
  });
});

describe("classifyFailure", () => {
  it("lets the last line that tells win over the retries before it", () => {
    const stderr =
      "429 Too Many Requests, retrying\n429 Too Many Requests, retrying\nError: 401 Unauthorized\n";
    expect(classifyFailure([stderr])).toEqual({ exit: "unavailable", detail: "Error: 401 Unauthorized" });
  });

  it("prefers the agent's own error to stderr", () => {
    expect(classifyFailure(["usage limit reached", "Error: 401 Unauthorized"]).exit).toBe("rate-limited");
    expect(classifyFailure([undefined, "", "Error: 401 Unauthorized"]).exit).toBe("unavailable");
  });

  it.each([
    'API Error: 429 {"error":{"message":"You exceeded your current quota","type":"insufficient_quota"}}',
    "Quota exceeded. Check your plan and billing details.",
    'API Error: 400 {"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low"}}',
  ])("calls no credit unavailable, even sent as a 429: %s", (line) => {
    expect(classifyFailure([line]).exit).toBe("unavailable");
  });

  it("calls anything else a plain failure", () => {
    expect(classifyFailure(["TypeError: x is undefined", "at line 429 of parser.ts"])).toEqual({
      exit: "failed",
    });
  });

  it("keeps the detail short", () => {
    const { detail } = classifyFailure([`rate limit ${"x".repeat(1000)}`]);
    expect(detail).toHaveLength(300);
    expect(detail?.endsWith("…")).toBe(true);
  });
});
