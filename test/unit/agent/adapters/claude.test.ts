import { describe, expect, it } from "vitest";
import { claudeAdapter } from "../../../../src/agent/adapters/claude.ts";

// Lines as Claude Code 2.1.332 prints them in print mode with stream-json output (trimmed of fields the
// adapter does not read), recorded against the Anthropic stand-in in test/agents/.

const input = { prompt: "Do it.", promptFile: "/work/attempt-1/prompt.md", agentArgs: [] as string[] };

const apiRetry = (status: number | null, error: string, attempt = 1) =>
  JSON.stringify({
    type: "system",
    subtype: "api_retry",
    attempt,
    max_retries: 10,
    retry_delay_ms: 623,
    error_status: status,
    error,
    session_id: "29b97289-2d5f-45d9-93fd-c3f7abfafe4a",
  });

const errorResult = (fields: Record<string, unknown>) =>
  JSON.stringify({
    type: "result",
    subtype: "success",
    is_error: true,
    duration_api_ms: 0,
    num_turns: 1,
    total_cost_usd: 0,
    terminal_reason: "api_error",
    session_id: "43b4c3f2-b600-49df-bc56-3cbf59bf33b6",
    ...fields,
  });

const classifyStdout = (stdout: string, exitCode = 1) =>
  claudeAdapter.classify({
    exitCode,
    stdoutTail: stdout,
    stderrTail: "",
    report: claudeAdapter.parse(stdout),
  });

describe("claude adapter: the environment Claude Code starts with", () => {
  it("turns off nonessential traffic and the auto-updater, and cuts its API retries to 4", () => {
    for (const agentArgs of [[], ["--output-format", "json"]]) {
      expect(claudeAdapter.build({ ...input, agentArgs }).env).toEqual({
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
        DISABLE_AUTOUPDATER: "1",
        CLAUDE_CODE_MAX_RETRIES: "4",
      });
    }
  });

  it("keeps no cache directories (Claude Code downloads nothing into HOME; ~/.claude holds sessions)", () => {
    expect(claudeAdapter.cacheDirs).toEqual([]);
  });

  it("names every headless way to authenticate in its hint", () => {
    for (const way of [
      "ANTHROPIC_API_KEY",
      "CLAUDE_CODE_OAUTH_TOKEN",
      "claude setup-token",
      "ANTHROPIC_AUTH_TOKEN",
      "DROVER_AGENT_ENV",
      "~/.claude/.credentials.json",
      "DROVER_AGENT_CREDENTIALS",
    ]) {
      expect(claudeAdapter.authHint).toContain(way);
    }
  });
});

describe("claude adapter: formats the repo chooses in agent_args", () => {
  it("adds --verbose to stream-json output, which print mode refuses without it", () => {
    const built = claudeAdapter.build({ ...input, agentArgs: ["--output-format", "stream-json"] });
    expect(built.args).toEqual([
      "-p",
      "--output-format",
      "json",
      "--verbose",
      "--permission-mode",
      "acceptEdits",
      "--output-format",
      "stream-json",
    ]);
    expect(built.stdin).toBe("Do it.");
    expect(built.live).toBeUndefined();
    const equals = claudeAdapter.build({ ...input, agentArgs: ["--output-format=stream-json"] });
    expect(equals.args).toContain("--verbose");
  });

  it("adds nothing to json or text output", () => {
    for (const format of ["json", "text"]) {
      const { args } = claudeAdapter.build({ ...input, agentArgs: ["--output-format", format] });
      expect(args).not.toContain("--verbose");
    }
  });

  it("keeps the streaming mode (the prompt as a JSON message) when agent_args choose stream-json input", () => {
    const built = claudeAdapter.build({
      ...input,
      agentArgs: ["--input-format", "stream-json", "--output-format", "stream-json"],
    });
    expect(built.args.slice(0, 6)).toEqual([
      "-p",
      "--input-format",
      "stream-json",
      "--output-format",
      "stream-json",
      "--verbose",
    ]);
    expect(JSON.parse(built.stdin)).toMatchObject({ type: "user" });
    expect(built.live).toBeDefined();
  });
});

describe("claude adapter: hints to a running Claude Code", () => {
  const live = claudeAdapter.build(input).live;

  it("sends each hint with a uuid of its own, so Claude Code reports what became of it", () => {
    const first = JSON.parse(live?.message("Use tabs.") ?? "{}") as { uuid?: string };
    const second = JSON.parse(live?.message("Use tabs.") ?? "{}") as { uuid?: string };
    expect(first).toMatchObject({
      type: "user",
      message: { role: "user", content: [{ type: "text", text: "Use tabs." }] },
    });
    expect(first.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(second.uuid).not.toBe(first.uuid);
  });

  it("counts a hint answered at its completed (or cancelled) frame, as a hint folded into a turn has no result of its own", () => {
    const frame = (state: string) =>
      JSON.stringify({
        type: "command_lifecycle",
        command_uuid: "2931efc3-1454-4ce9-97e8-e77d6084be43",
        state,
        uuid: "a1cf754c-3682-48f8-bb37-d41e82c03e66",
        session_id: "b7c3d83b-0c9b-4f84-82e7-15ab29d045b2",
      });
    expect(live?.endsTurn(frame("completed"))).toBe(true);
    expect(live?.endsTurn(frame("cancelled"))).toBe(true);
    expect(live?.endsTurn(frame("queued"))).toBe(false);
    expect(live?.endsTurn(frame("started"))).toBe(false);
    expect(live?.endsTurn(errorResult({ result: "Done." }))).toBe(true);
    expect(live?.endsTurn(apiRetry(529, "overloaded"))).toBe(false);
  });
});

describe("claude adapter: a session that answered a hint in a turn of its own", () => {
  it("adds up the turns and tokens of each answer, and takes the newest cost (the session's so far)", () => {
    const answer = (text: string, cost: number) =>
      JSON.stringify({
        type: "result",
        subtype: "success",
        is_error: false,
        num_turns: 3,
        result: text,
        total_cost_usd: cost,
        usage: {
          input_tokens: 10,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 50,
          output_tokens: 5,
        },
        session_id: "b7c3d83b-0c9b-4f84-82e7-15ab29d045b2",
      });
    const report = claudeAdapter.parse(
      [answer("First.", 0.00014), answer("Second.", 0.00028), ""].join("\n"),
    );
    expect(report).toEqual({
      finalMessage: "First.\n\nSecond.",
      costUsd: 0.00028,
      turns: 6,
      inputTokens: 120,
      outputTokens: 10,
      sessionId: "b7c3d83b-0c9b-4f84-82e7-15ab29d045b2",
      isError: false,
    });
  });
});

describe("claude adapter: a refused key ends the run at once", () => {
  it.each([
    [apiRetry(401, "authentication_failed"), "HTTP 401 authentication_failed"],
    [apiRetry(403, "permission_error"), "HTTP 403 permission_error"],
    [apiRetry(null, "authentication_failed"), "authentication_failed"],
  ])("at its first retry line %s", (line, said) => {
    expect(claudeAdapter.stuck?.(line)).toBe(
      `the Anthropic API refused the credentials (${said}), before Claude Code's own retries`,
    );
  });

  it.each([
    apiRetry(429, "rate_limit"),
    apiRetry(529, "overloaded"),
    apiRetry(null, "unknown"),
    '{"type":"assistant","message":{"content":[{"type":"text","text":"HTTP 401 authentication_failed"}]}}',
    "Fixed the 401 handling in auth.ts",
    "",
  ])("but not at %j, which it retries a few times or which is the agent's own work", (line) => {
    expect(claudeAdapter.stuck?.(line)).toBeUndefined();
  });
});

describe("claude adapter: how an API failure ended the run", () => {
  it.each([
    [
      errorResult({
        api_error_status: 429,
        api_error_type: "rate_limit_error",
        result: "API Error: Request rejected (429) · rate limited",
      }),
      "rate-limited",
      "API Error: Request rejected (429) · rate limited",
    ],
    [
      errorResult({
        api_error_status: 529,
        api_error_type: "overloaded_error",
        result:
          "API Error: Repeated 529 Overloaded errors. The API is at capacity — this is usually temporary. Try again in a moment. If it persists, check your inference gateway (127.0.0.1:45207).",
      }),
      "rate-limited",
      "API Error: Repeated 529 Overloaded errors. The API is at capacity — this is usually temporary. Try again in a moment. If it persists, check your inference gateway (127.0.0.1:45207).",
    ],
    [
      errorResult({
        api_error_status: 401,
        api_error_type: "authentication_error",
        result: "Invalid API key · Fix external API key",
      }),
      "unavailable",
      "Invalid API key · Fix external API key",
    ],
    [
      errorResult({
        api_error_status: 400,
        api_error_type: "invalid_request_error",
        result: "Credit balance is too low",
      }),
      "unavailable",
      "Credit balance is too low",
    ],
    [
      errorResult({ api_error_status: null, result: "Not logged in · Please run /login" }),
      "unavailable",
      "Not logged in · Please run /login",
    ],
    [
      errorResult({
        api_error_status: null,
        api_error: "connection_failed",
        result: "API Error: Connection refused — a firewall or proxy may be blocking it (ECONNREFUSED)",
      }),
      "unavailable",
      "API Error: Connection refused — a firewall or proxy may be blocking it (ECONNREFUSED)",
    ],
    [
      errorResult({
        api_error_status: null,
        api_error: "connection_failed",
        result: "API Error: Can't reach the API server — check your internet or DNS (ENOTFOUND)",
      }),
      "unavailable",
      "API Error: Can't reach the API server — check your internet or DNS (ENOTFOUND)",
    ],
  ])("%s is %s", (result, exit, detail) => {
    const stdout = [apiRetry(null, "unknown"), result, ""].join("\n");
    expect(classifyStdout(stdout)).toEqual({ exit, detail });
  });

  it("reads the status even when the error text names no cause", () => {
    const stdout = errorResult({ api_error_status: 429, result: "API Error: Request rejected" });
    expect(classifyStdout(stdout)).toEqual({ exit: "rate-limited", detail: "API Error: Request rejected" });
  });

  it("leaves other errors to their wording", () => {
    const stdout = errorResult({ api_error_status: 500, result: "API Error: 500 Internal server error" });
    expect(classifyStdout(stdout)).toEqual({ exit: "failed" });
  });

  it("is ok when the last result is not an error, whatever an earlier one said", () => {
    const ok = JSON.stringify({ type: "result", subtype: "success", is_error: false, result: "Done." });
    const stdout = [errorResult({ api_error_status: 429, result: "API Error: 429" }), ok].join("\n");
    expect(classifyStdout(stdout, 0)).toEqual({ exit: "ok" });
  });
});
