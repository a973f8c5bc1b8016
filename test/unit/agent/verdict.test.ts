import { describe, expect, it } from "vitest";
import { parseVerdict } from "../../../src/agent/verdict.ts";

const block = (body: string): string => "```drover-verdict\n" + body + "\n```";

describe("parseVerdict", () => {
  it("reads a pass verdict at the end of the message", () => {
    const text = `Done.\n\n${block('{"status": "pass", "summary": "Fixed the bug"}')}\n`;
    expect(parseVerdict(text)).toEqual({ verdict: { status: "pass", summary: "Fixed the bug" } });
  });

  it("keeps the blocker of a blocked verdict and drops unknown keys", () => {
    const text = block(
      '{"status": "blocked", "summary": "Need a key", "blocker": "no API key for the sandbox", "extra": 1}',
    );
    expect(parseVerdict(text)).toEqual({
      verdict: { status: "blocked", summary: "Need a key", blocker: "no API key for the sandbox" },
    });
  });

  it("takes the last block when the agent quoted an example first", () => {
    const text = [
      "You asked me to end with:",
      block('{"status": "pass|fail|blocked", "summary": "..."}'),
      "Here is mine:",
      block('{"status": "fail", "summary": "tests fail"}'),
    ].join("\n");
    expect(parseVerdict(text)).toEqual({ verdict: { status: "fail", summary: "tests fail" } });
  });

  it("ignores a mention of the fence inside prose", () => {
    const text = `${block('{"status": "pass", "summary": "ok"}')}\nI ended with a \`\`\`drover-verdict block as asked.`;
    expect(parseVerdict(text)).toEqual({ verdict: { status: "pass", summary: "ok" } });
  });

  it("reads a block the agent forgot to close", () => {
    expect(parseVerdict('```drover-verdict\n{"status": "pass", "summary": "ok"}\n')).toEqual({
      verdict: { status: "pass", summary: "ok" },
    });
  });

  it("handles CRLF line endings and indentation", () => {
    const text = '  ```drover-verdict\r\n  {"status": "pass", "summary": "ok"}\r\n  ```\r\n';
    expect(parseVerdict(text)).toEqual({ verdict: { status: "pass", summary: "ok" } });
  });

  it.each([
    ["", "no drover-verdict block found"],
    ["All done, no block.", "no drover-verdict block found"],
    ['```json\n{"status": "pass", "summary": "x"}\n```', "no drover-verdict block found"],
    [block(""), "drover-verdict block is empty"],
    [
      block("[1, 2]"),
      'drover-verdict block must hold a JSON object like {"status": "pass", "summary": "..."}',
    ],
    [
      block('{"status": "done", "summary": "x"}'),
      'drover-verdict status must be pass, fail or blocked (got "done")',
    ],
    [block('{"summary": "x"}'), "drover-verdict status must be pass, fail or blocked (got nothing)"],
    [block('{"status": "pass"}'), "drover-verdict summary must be a string"],
    [
      block('{"status": "blocked", "summary": "x", "blocker": 42}'),
      "drover-verdict blocker must be a string",
    ],
  ])("explains what is wrong with %j", (text, problem) => {
    expect(parseVerdict(text)).toEqual({ verdict: null, problem });
  });

  it("says why the JSON is invalid", () => {
    const parsed = parseVerdict(block("{status: pass}"));
    expect(parsed.verdict).toBeNull();
    expect("problem" in parsed && parsed.problem).toMatch(/^drover-verdict block is not valid JSON: /);
  });
});
