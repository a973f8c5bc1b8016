import { describe, expect, it } from "vitest";
import { codexAdapter } from "../../../../src/agent/adapters/codex.ts";
import type { AgentReport } from "../../../../src/agent/adapters/types.ts";

// What Codex CLI 0.171.0 printed against the OpenAI Responses stand-in (test/agents/codex.test.ts),
// line for line.

const input = { prompt: "Do it.", promptFile: "/work/attempt-1/prompt.md", agentArgs: [] as string[] };
const jsonl = (...events: unknown[]): string =>
  events.map((event) => JSON.stringify(event)).join("\n") + "\n";
const failedWith = (exitCode: number, report: AgentReport, stderrTail = "") =>
  codexAdapter.classify({ exitCode, report, stderrTail, stdoutTail: "" });
const failedTurn = (message: string): AgentReport =>
  codexAdapter.parse(
    jsonl(
      { type: "thread.started", thread_id: "t" },
      { type: "turn.started" },
      { type: "error", message },
      { type: "turn.failed", error: { message } },
    ),
  );

describe("codex adapter for Codex CLI 0.171", () => {
  it("runs exec with JSON events in the workspace-write sandbox, analytics off, the prompt on stdin", () => {
    expect(codexAdapter.build({ ...input, agentArgs: ["--model", "gpt-5.5"] })).toEqual({
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
        "gpt-5.5",
        "-",
      ],
      stdin: "Do it.",
    });
  });

  it.each([
    [["--sandbox", "danger-full-access"]],
    [["-s", "read-only"]],
    [["--sandbox=danger-full-access"]],
    [["--dangerously-bypass-approvals-and-sandbox"]],
    [["--yolo"]],
    [["-c", "sandbox_mode=danger-full-access"]],
  ])("lets the repo choose the sandbox (%j)", (agentArgs) => {
    const { args } = codexAdapter.build({ ...input, agentArgs });
    expect(args).not.toContain("workspace-write");
    expect(args.slice(-agentArgs.length - 1)).toEqual([...agentArgs, "-"]);
  });

  it("refuses --full-auto, which codex exec rejects, and says what to write instead", () => {
    expect(() => codexAdapter.build({ ...input, agentArgs: ["--full-auto"] })).toThrow(
      /`codex exec` no longer accepts --full-auto .*unexpected argument '--full-auto' found.*--sandbox workspace-write/,
    );
  });

  it("reads the run's answer, thread and tokens, the usage of both model requests added", () => {
    const stdout = jsonl(
      { type: "thread.started", thread_id: "01a2482c-d8a0-7a42-8f17-7b2a8f1712e0" },
      {
        type: "item.completed",
        item: {
          id: "item_0",
          type: "error",
          message: "Falling back from WebSockets to HTTPS transport. unexpected status 404 Not Found",
        },
      },
      {
        type: "item.completed",
        item: {
          id: "item_1",
          type: "file_change",
          changes: [{ path: "/w/NOTES.md", kind: "add" }],
          status: "completed",
        },
      },
      { type: "item.completed", item: { id: "item_2", type: "agent_message", text: "Done." } },
      {
        type: "turn.completed",
        usage: {
          input_tokens: 2400,
          cached_input_tokens: 0,
          cache_write_input_tokens: 0,
          output_tokens: 160,
          reasoning_output_tokens: 0,
        },
      },
    );
    expect(codexAdapter.parse(stdout)).toEqual({
      finalMessage: "Done.",
      sessionId: "01a2482c-d8a0-7a42-8f17-7b2a8f1712e0",
      inputTokens: 2400,
      outputTokens: 160,
      isError: false,
    });
  });

  it.each([
    ["Quota exceeded. Check your plan and billing details.", "unavailable"],
    [
      "unexpected status 429 Too Many Requests: You exceeded your current quota, please check your plan",
      "unavailable",
    ],
    ["exceeded retry limit, last status: 429 Too Many Requests", "rate-limited"],
    [
      "You've hit your usage limit. Upgrade to Pro or try again in 2 days 17 hours 14 minutes.",
      "rate-limited",
    ],
    [
      "unexpected status 401 Unauthorized: Incorrect API key provided: sk-*****dbad. You can find your API key at https://platform.openai.com/account/api-keys., url: http://127.0.0.1:45781/v1/responses",
      "unavailable",
    ],
    ["Missing environment variable: `GATEWAY_KEY`.", "unavailable"],
    ["stream disconnected before completion: error sending request for url", "failed"],
  ])("reads the turn failure %j as %s", (message, exit) => {
    expect(failedWith(1, failedTurn(message))).toMatchObject({
      exit,
      ...(exit === "failed" ? {} : { detail: message }),
    });
  });

  describe("stuck", () => {
    const stuck = (message: string) => codexAdapter.stuck?.(JSON.stringify({ type: "error", message }));

    it("ends a run waiting for the network at once", () => {
      expect(stuck("Reconnecting... waiting for network (Connection failed: error sending request)")).toBe(
        "Codex cannot reach its model service and waits for the network: Reconnecting... waiting for network (Connection failed: error sending request)",
      );
    });

    it("ends a run at the first 401, on either transport, before Codex's retries", () => {
      expect(
        stuck(
          "Reconnecting... 1/5 (unexpected status 401 Unauthorized: Incorrect API key provided: sk-*****dbad., url: http://127.0.0.1:1/v1/responses)",
        ),
      ).toMatch(
        /^Codex's model service refused its credentials \(401\): Reconnecting\.\.\. 1\/5 \(unexpected status 401/,
      );
      const websocket = stuck(
        'Reconnecting... 2/5 (unexpected status 401 Unauthorized: 1bb\r\n{"error":{"message":"You didn\'t provide an API key."}}\r\n0, url: ws://127.0.0.1:1/v1/responses)',
      );
      expect(websocket).toMatch(
        /refused its credentials \(401\): Reconnecting\.\.\. 2\/5 \(unexpected status 401 Unauthorized: 1bb \{/,
      );
    });

    it("lets Codex retry what may pass: rate limits, a dropped stream, the WebSocket fallback", () => {
      expect(
        stuck("Reconnecting... 1/5 (exceeded retry limit, last status: 429 Too Many Requests)"),
      ).toBeUndefined();
      expect(
        stuck(
          "Reconnecting... 2/5 (stream disconnected before completion: Connection refused (os error 111))",
        ),
      ).toBeUndefined();
      expect(
        codexAdapter.stuck?.(
          "2026-12-05T21:36:07Z ERROR codex_api::endpoint::responses_websocket: failed to connect",
        ),
      ).toBeUndefined();
    });

    it("keeps a long message short", () => {
      expect(stuck(`Reconnecting... waiting for network (${"x".repeat(1000)})`)?.length).toBeLessThan(400);
    });
  });

  it("names the variable and the credential file that serve codex exec headless", () => {
    expect(codexAdapter.authHint).toContain("DROVER_AGENT_ENV=CODEX_API_KEY");
    expect(codexAdapter.authHint).toContain("DROVER_AGENT_CREDENTIALS=~/.codex/auth.json");
    expect(codexAdapter.authHint).toContain("codex login --with-api-key");
  });

  it("shares no directory of the run's HOME: nothing Codex writes there is a download", () => {
    expect(codexAdapter.cacheDirs).toEqual([]);
  });
});
