import { describe, expect, it } from "vitest";
import { ampAdapter } from "../../../../src/agent/adapters/amp.ts";
import type { ClassifyInput } from "../../../../src/agent/adapters/types.ts";

// Output as Amp 0.0.1790142911-g7618fb printed it (test/agents/amp.test.ts runs the real CLI).

const input = { prompt: "Do it.", promptFile: "/work/attempt-1/prompt.md", agentArgs: [] as string[] };
const failed = (stderrTail: string, stdoutTail = ""): ClassifyInput => ({
  exitCode: 1,
  report: ampAdapter.parse(stdoutTail),
  stderrTail,
  stdoutTail,
});

describe("amp adapter, as the real CLI runs", () => {
  it("turns off terminal access from ampcode.com to the worker", () => {
    expect(ampAdapter.build(input)).toEqual({
      file: "amp",
      args: ["--execute", "--stream-json"],
      stdin: "Do it.",
      env: { AMP_REMOTE_CONTROL_TERMINAL: "0" },
    });
  });

  it("says to install @ampcode/cli, and names AMP_API_KEY and the secrets.json `amp login` writes", () => {
    expect(ampAdapter.installHint).toContain("npm i -g @ampcode/cli");
    expect(ampAdapter.authHint).toContain("AMP_API_KEY");
    expect(ampAdapter.authHint).toContain("DROVER_AGENT_CREDENTIALS=~/.local/share/amp/secrets.json");
  });

  it("is stuck at its login prompt, which would read the prompt as the login code or wait", () => {
    expect(ampAdapter.stuck?.("No API key found. Starting login flow...")).toBe(
      "Amp asked to log in: No API key found. Starting login flow...",
    );
    expect(ampAdapter.stuck?.("When prompted, paste your code here: ")).toBeDefined();
    const said = { type: "assistant", message: { content: [{ type: "text", text: "No API key found." }] } };
    expect(ampAdapter.stuck?.(JSON.stringify(said))).toBeUndefined();
    expect(
      ampAdapter.stuck?.("Error: Couldn't connect to the Amp server at https://ampcode.com/."),
    ).toBeUndefined();
  });

  it("calls a refused key and an unreachable server unavailable", () => {
    expect(
      ampAdapter.classify(failed("Error: Invalid or missing API key. Run 'amp login' to authenticate.\n")),
    ).toEqual({
      exit: "unavailable",
      detail: "Error: Invalid or missing API key. Run 'amp login' to authenticate.",
    });
    const noNetwork =
      "Error: Couldn't connect to the Amp server at https://ampcode.com/.\n\nCheck your network connection or the server URL and try again.\n";
    expect(ampAdapter.classify(failed(noNetwork))).toEqual({
      exit: "unavailable",
      detail: "Error: Couldn't connect to the Amp server at https://ampcode.com/.",
    });
  });

  it("calls the login flow it prints with no key unavailable, should it end before being stopped", () => {
    const stdout =
      "No API key found. Starting login flow...\nIf your browser does not open automatically, visit:\n\nhttps://ampcode.com/auth/cli-login?authToken=7e1e\n\nWhen prompted, paste your code here: \n";
    const stderr =
      "\nLogin failed: That code looks incomplete. Copy the full code from the browser and try again.\n";
    expect(ampAdapter.classify(failed(stderr, stdout))).toEqual({
      exit: "unavailable",
      detail: "No API key found. Starting login flow...",
    });
  });
});
