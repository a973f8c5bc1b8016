import { describe, expect, it } from "vitest";
import { parseArgv } from "../../../src/agent/adapters/index.ts";

describe("parseArgv", () => {
  it("takes a list as is", () => {
    expect(parseArgv(["node", "a b.mjs", "{prompt_file}"])).toEqual(["node", "a b.mjs", "{prompt_file}"]);
  });

  it.each([
    ['node scripts/agent.mjs "{prompt_file}"', ["node", "scripts/agent.mjs", "{prompt_file}"]],
    ["  spaced   out\targs\n", ["spaced", "out", "args"]],
    ["a 'single quoted $HOME' b", ["a", "single quoted $HOME", "b"]],
    ['say "double \\"quoted\\" \\\\ $HOME and \\n"', ["say", 'double "quoted" \\ $HOME and \\n']],
    ["esc\\ aped \\|pipe", ["esc aped", "|pipe"]],
    ["'' \"\"", ["", ""]],
    ["con'cat'\"ena\"ted", ["concatenated"]],
    ["a 'x|y;z' \"&&>\"", ["a", "x|y;z", "&&>"]],
    ["price $5 ~/x *.ts", ["price", "$5", "~/x", "*.ts"]],
    ["", []],
  ])("splits %j", (input, argv) => {
    expect(parseArgv(input)).toEqual(argv);
  });

  it.each([
    ["agent | tee out", "the shell operator '|'"],
    ["agent; rm -rf /", "the shell operator ';'"],
    ["agent && other", "the shell operator '&&'"],
    ["agent > out.txt", "the shell operator '>'"],
    ["agent < in.txt", "the shell operator '<'"],
    ["agent `whoami`", "the shell operator '`'"],
    ["agent $(whoami)", "'$(' (variable or command substitution)"],
    ["agent $HOME", "'$H' (variable or command substitution)"],
  ])("refuses %j", (input, what) => {
    expect(() => parseArgv(input)).toThrow(`${what} is not supported; write agent_command as an argv list`);
  });

  it.each([
    ["agent 'open", "unterminated single quote"],
    ['agent "open', "unterminated double quote"],
    ["agent \\", "trailing backslash"],
  ])("rejects %j", (input, problem) => {
    expect(() => parseArgv(input)).toThrow(problem);
  });
});
