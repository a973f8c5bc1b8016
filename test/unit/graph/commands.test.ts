import { describe, expect, it } from "vitest";
import {
  APPLIES_IN,
  COMMAND_NAMES,
  COMMAND_USAGE,
  MAX_COMMAND_TEXT,
  appliesIn,
  commandsFor,
  hasCommand,
  isPriorityLabel,
  parseCommands,
  priorityLabel,
  withoutCommands,
  type CommandName,
} from "../../../src/graph/commands.ts";
import { TASK_STATES, type TaskState } from "../../../src/graph/model.ts";
import { canTransition } from "../../../src/graph/transitions.ts";
import { priorityFromLabels } from "../../../src/graph/order.ts";

const commandsOf = (body: string) =>
  parseCommands(body).map((parsed) => (parsed.ok ? parsed.command : { problem: parsed.problem }));

describe("parseCommands", () => {
  it("reads each command on a line of its own, with its arguments", () => {
    expect(
      commandsOf(
        [
          "/drover run",
          "/drover retry",
          "/drover retry --fresh",
          "/drover pause",
          "/drover resume",
          "/drover cancel no longer needed",
          "/drover resolve done by hand",
          "/drover priority high",
          "/drover status",
          "/drover help",
        ].join("\n\n"),
      ),
    ).toEqual([
      { name: "run" },
      { name: "retry", fresh: false },
      { name: "retry", fresh: true },
      { name: "pause" },
      { name: "resume", hint: "" },
      { name: "cancel", reason: "no longer needed" },
      { name: "resolve", note: "done by hand" },
      { name: "priority", level: "high" },
      { name: "status" },
      { name: "help" },
    ]);
  });

  it("finds nothing in a comment without a command line, and only lines that start with /drover", () => {
    expect(parseCommands("Looks good to me. Maybe try /drover retry later?")).toEqual([]);
    expect(parseCommands("")).toEqual([]);
    expect(parseCommands("/droverrun\n/drovers help")).toEqual([]);
    expect(hasCommand("please /drover run")).toBe(false);
    expect(hasCommand("please\n/drover run")).toBe(true);
  });

  it("ignores case in the command and its flags, and up to three spaces before it", () => {
    expect(commandsOf("/DROVER Retry --FRESH\n   /Drover PRIORITY Critical")).toEqual([
      { name: "retry", fresh: true },
      { name: "priority", level: "critical" },
    ]);
  });

  it("runs nothing quoted: a reply quoting a command is not the command", () => {
    expect(parseCommands("> /drover cancel\n\nI would not do that.")).toEqual([]);
    expect(parseCommands("  > /drover run\n>> /drover help")).toEqual([]);
  });

  it("runs nothing in a fenced code block, with backticks or tildes, however long the fence", () => {
    const body = [
      "Type this:",
      "```",
      "/drover cancel",
      "```",
      "~~~~",
      "/drover run",
      "```",
      "/drover pause",
      "~~~~",
      "/drover status",
    ].join("\n");
    expect(commandsOf(body)).toEqual([{ name: "status" }]);
  });

  it("treats a fence that is never closed as code to the end", () => {
    expect(parseCommands("```sh\n/drover run\n/drover cancel")).toEqual([]);
  });

  it("runs nothing in indented code after a blank line, but reads a command indented less than four", () => {
    expect(parseCommands("Example:\n\n    /drover cancel\n")).toEqual([]);
    expect(parseCommands("Example:\n\n\t/drover cancel\n")).toEqual([]);
    expect(commandsOf("   /drover pause")).toEqual([{ name: "pause" }]);
  });

  it("reads several commands in order, each with its index and the line it came from", () => {
    const parsed = parseCommands("/drover hint use the v2 API\n/drover retry --fresh\n");
    expect(parsed.map(({ index, line, ok }) => ({ index, line, ok }))).toEqual([
      { index: 0, line: "/drover hint use the v2 API", ok: true },
      { index: 1, line: "/drover retry --fresh", ok: true },
    ]);
  });

  it("gives a hint the lines after it, up to the next command, code blocks included", () => {
    const body = [
      "/drover hint --restart The parser is in src/parse.ts.",
      "Keep this in mind:",
      "```ts",
      "/drover cancel",
      "```",
      "/drover status",
    ].join("\n");
    expect(commandsOf(body)).toEqual([
      {
        name: "hint",
        restart: true,
        text: "The parser is in src/parse.ts.\nKeep this in mind:\n```ts\n/drover cancel\n```",
      },
      { name: "status" },
    ]);
  });

  it("reads a hint whose text starts on the next line", () => {
    expect(commandsOf("/drover hint\nlook at the tests first")).toEqual([
      { name: "hint", restart: false, text: "look at the tests first" },
    ]);
  });

  it("reads Windows line endings", () => {
    expect(commandsOf("/drover pause\r\n/drover status\r\n")).toEqual([
      { name: "pause" },
      { name: "status" },
    ]);
  });

  it.each([
    ["/drover", "needs a command"],
    ["/drover frobnicate", "`frobnicate` is not a Drover command"],
    ["/drover run now", "takes nothing after it"],
    ["/drover pause please", "takes nothing after it"],
    ["/drover status x", "takes nothing after it"],
    ["/drover retry --hard", "takes only `--fresh`"],
    ["/drover hint", "needs the hint's text"],
    ["/drover hint --restart", "needs the hint's text"],
    ["/drover priority", "got `nothing`"],
    ["/drover priority urgent", "takes one of critical, high, normal, low"],
    ["/drover priority high low", "takes one of"],
    ["/drover plan now", "`/drover plan` takes nothing, `accept` or `accept --no-label` (got `now`)"],
    ["/drover plan accept --label", "(got `accept --label`)"],
    ["/drover plan accept --no-label --no-label", "takes nothing, `accept`"],
  ])("says what is wrong with %j", (body, problem) => {
    const [parsed] = parseCommands(body);
    expect(parsed?.ok).toBe(false);
    expect(parsed && !parsed.ok ? parsed.problem : "").toContain(problem);
  });

  it("reads `/drover plan`, `accept` and `accept --no-label`", () => {
    expect(
      parseCommands("/drover plan\n/drover plan accept\n/drover PLAN Accept --No-Label").map((p) =>
        p.ok ? p.command : p.problem,
      ),
    ).toEqual([
      { name: "plan", accept: false, label: true },
      { name: "plan", accept: true, label: true },
      { name: "plan", accept: true, label: false },
    ]);
  });

  it("keeps a malformed command's place among good ones", () => {
    expect(parseCommands("/drover pause\n/drover nope\n/drover status").map((p) => p.ok)).toEqual([
      true,
      false,
      true,
    ]);
  });

  it("clips what it quotes back from a long or backticked argument", () => {
    const [parsed] = parseCommands(`/drover retry ${"`x".repeat(100)}`);
    const problem = parsed && !parsed.ok ? parsed.problem : "";
    expect(problem.length).toBeLessThan(120);
    expect(problem).toContain("...");
    expect(problem.slice(problem.indexOf("(got"))).not.toMatch(/`x/);
  });

  it.each(["hint", "cancel", "resume", "resolve"])("refuses a %s text longer than the limit", (name) => {
    const [parsed] = parseCommands(`/drover ${name} ${"a".repeat(MAX_COMMAND_TEXT + 1)}`);
    expect(parsed?.ok).toBe(false);
    expect(parsed && !parsed.ok ? parsed.problem : "").toContain(`up to ${MAX_COMMAND_TEXT}`);
  });

  it("takes a text right at the limit", () => {
    const text = "a".repeat(MAX_COMMAND_TEXT);
    expect(commandsOf(`/drover hint ${text}`)).toEqual([{ name: "hint", restart: false, text }]);
  });
});

describe("which commands apply where", () => {
  it("documents every command with its usage", () => {
    for (const name of COMMAND_NAMES) {
      expect(COMMAND_USAGE[name].usage.startsWith(`/drover ${name}`)).toBe(true);
      expect(APPLIES_IN[name].length).toBeGreaterThan(0);
    }
  });

  it("lets help and priority apply everywhere, status wherever there is a task", () => {
    for (const state of [...TASK_STATES, "none" as const]) {
      expect(appliesIn("help", state)).toBe(true);
      expect(appliesIn("priority", state)).toBe(true);
      expect(appliesIn("status", state)).toBe(state !== "none");
    }
  });

  it("lists what would work in a state, in the help's order", () => {
    expect(commandsFor("failed")).toEqual([
      "run",
      "retry",
      "hint",
      "cancel",
      "resolve",
      "priority",
      "status",
      "plan",
      "help",
    ]);
    expect(commandsFor("paused")).toEqual(["hint", "cancel", "resume", "priority", "status", "plan", "help"]);
    expect(commandsFor("none")).toEqual(["run", "priority", "plan", "help"]);
  });
});

describe("priority labels", () => {
  it("writes the label the scheduler reads", () => {
    expect(priorityFromLabels([priorityLabel("critical")])).toBe(0);
    expect(priorityFromLabels([priorityLabel("low")])).toBe(3);
  });

  it("knows every label the scheduler reads as a priority, and no other", () => {
    for (const label of ["priority: high", "Priority:Low", "P0", "p 3", " priority : normal "])
      expect(isPriorityLabel(label), label).toBe(true);
    for (const label of ["priority", "P4", "high", "priority: urgent", "drover"])
      expect(isPriorityLabel(label), label).toBe(false);
  });
});

describe("commands and the state rules", () => {
  // Where each command that moves a task sends it; a command applying in a state must be a legal move.
  const MOVES: Partial<Record<CommandName, TaskState>> = {
    run: "ready",
    retry: "ready",
    cancel: "cancelled",
    pause: "paused",
    resume: "ready",
    resolve: "done",
  };

  it.each(Object.entries(MOVES))("lets /drover %s move a task from every state it applies in", (name, to) => {
    for (const state of APPLIES_IN[name as CommandName]) {
      if (state === "none") continue;
      expect(canTransition(state, to), `${state} → ${to}`).toBe(true);
    }
  });
});

describe("withoutCommands", () => {
  it("keeps what a review says before its first command, and drops each command's text", () => {
    expect(withoutCommands("Rename the helper.\n\n/drover hint use camelCase\nmore hint")).toBe(
      "Rename the helper.",
    );
    expect(withoutCommands("No commands here.\n> /drover cancel")).toBe(
      "No commands here.\n> /drover cancel",
    );
    expect(withoutCommands("/drover pause")).toBe("");
    expect(withoutCommands("```\n/drover run\n```\nthen /drover")).toBe(
      "```\n/drover run\n```\nthen /drover",
    );
  });
});
