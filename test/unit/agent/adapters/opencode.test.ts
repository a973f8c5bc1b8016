import { describe, expect, it } from "vitest";
import { opencodeAdapter } from "../../../../src/agent/adapters/opencode.ts";
import type { AgentReport, ClassifyInput } from "../../../../src/agent/adapters/types.ts";

// Lines as OpenCode 1.18.33 printed them (test/agents/opencode.test.ts runs the real CLI).

const input = { prompt: "Do it.", promptFile: "/work/attempt-1/prompt.md", agentArgs: [] as string[] };
const ended = (exitCode: number | null, report: AgentReport, stderrTail = ""): ClassifyInput => ({
  exitCode,
  report,
  stderrTail,
  stdoutTail: "",
});
const errorEvent = (error: object): string =>
  JSON.stringify({ type: "error", timestamp: 1, sessionID: "ses_1", error }) + "\n";

const streamError = (error: string): string =>
  `timestamp=2026-12-05T21:53:41.846Z level=ERROR run=bc7e59fd message="stream error" providerID=anthropic modelID=claude-sonnet-4-5 session.id=ses_1 small=false agent=build mode=primary error.error="${error}"`;
const cannotConnect =
  "AI_APICallError: Cannot connect to API: Unable to connect. Is the computer able to access the url? (cause: Error: Unable to connect. Is the computer able to access the url?)";

describe("opencode adapter, as the real CLI runs", () => {
  it("starts OpenCode with its logs on stderr from WARN up, no autoupdate and no models.dev fetch", () => {
    expect(opencodeAdapter.build(input)).toEqual({
      file: "opencode",
      args: ["run", "--format", "json"],
      stdin: "Do it.",
      env: {
        OPENCODE_PRINT_LOGS: "1",
        OPENCODE_LOG_LEVEL: "WARN",
        OPENCODE_DISABLE_AUTOUPDATE: "1",
        OPENCODE_DISABLE_MODELS_FETCH: "1",
      },
    });
  });

  it("shares its download caches, never the data directory that holds auth.json and sessions", () => {
    expect(opencodeAdapter.cacheDirs).toEqual([".cache/opencode", ".npm"]);
    for (const dir of opencodeAdapter.cacheDirs ?? []) {
      expect(".local/share/opencode/auth.json".startsWith(dir)).toBe(false);
      expect(".config/opencode/opencode.json".startsWith(dir)).toBe(false);
    }
  });

  it("names the key variables and the auth.json `opencode auth login` writes", () => {
    expect(opencodeAdapter.authHint).toContain("ANTHROPIC_API_KEY");
    expect(opencodeAdapter.authHint).toContain("DROVER_AGENT_ENV");
    expect(opencodeAdapter.authHint).toContain("DROVER_AGENT_CREDENTIALS=~/.local/share/opencode/auth.json");
  });

  it("is stuck at its first failed connection to the provider, not after its minute of retries", () => {
    expect(opencodeAdapter.stuck?.(streamError(cannotConnect))).toBe(
      `OpenCode cannot reach the model provider's API (${cannotConnect})`,
    );
    // The final error event on stdout, a rate limit being retried, or the agent's own output: not stuck.
    expect(
      opencodeAdapter.stuck?.(errorEvent({ name: "APIError", data: { message: "Cannot connect to API" } })),
    ).toBeUndefined();
    expect(opencodeAdapter.stuck?.(streamError("AI_APICallError: Overloaded"))).toBeUndefined();
    expect(opencodeAdapter.stuck?.("curl: Cannot connect to API server")).toBeUndefined();
  });

  it("classifies what it printed for each failure", () => {
    const cases: [object, string][] = [
      [
        {
          name: "ProviderAuthError",
          data: {
            providerID: "anthropic",
            message:
              "Anthropic API key is missing. Pass it using the 'apiKey' parameter or the ANTHROPIC_API_KEY environment variable.",
          },
        },
        "unavailable",
      ],
      [
        { name: "APIError", data: { message: "invalid x-api-key", statusCode: 401, isRetryable: false } },
        "unavailable",
      ],
      [
        {
          name: "APIError",
          data: {
            message:
              "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.",
            statusCode: 400,
          },
        },
        "unavailable",
      ],
      [
        { name: "APIError", data: { message: "Overloaded", statusCode: 529, isRetryable: true } },
        "rate-limited",
      ],
      [
        {
          name: "APIError",
          data: {
            message: "Cannot connect to API: Unable to connect. Is the computer able to access the url?",
            isRetryable: true,
          },
        },
        "unavailable",
      ],
    ];
    for (const [error, exit] of cases) {
      expect(opencodeAdapter.classify(ended(1, opencodeAdapter.parse(errorEvent(error)))).exit).toBe(exit);
    }
  });

  it("finds the provider's error in its logs when the event only says UnknownError", () => {
    // The event as issue 14 saw it without a key; the log lines as 1.18.33 prints them in that case.
    const report = opencodeAdapter.parse(errorEvent({ name: "UnknownError", data: { message: "Error" } }));
    const missing =
      "Anthropic API key is missing. Pass it using the 'apiKey' parameter or the ANTHROPIC_API_KEY environment variable.";
    const processLine = `timestamp=2026-12-05T22:02:28.594Z level=ERROR run=2c58ff33 message=process session.id=ses_1 messageID=msg_1 error="${missing}" stack="AI_LoadAPIKeyError: ${missing}\\n    at vQ (/$bunfs/root/chunk-w3yr9y3j.js:2:4723)"`;
    const stderr = [streamError(`AI_LoadAPIKeyError: ${missing}`), processLine].join("\n");
    const classified = opencodeAdapter.classify(ended(1, report, stderr));
    expect(classified.exit).toBe("unavailable");
    expect(classified.detail).toContain(`error="${missing}"`);
  });
});
