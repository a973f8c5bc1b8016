import type { TaskState } from "./model.ts";

/**
 * `/drover` commands in a comment: what people type on an issue or a pull request to steer its task.
 * Pure: the text in, the commands out, and which of them a task in a given state can take.
 *
 * A command is a line that starts with `/drover` (up to three spaces before it, any case), outside fenced
 * code blocks, indented code and block quotes, so a quoted or pasted command never runs. A command's text
 * (a hint, a reason, a note) is the rest of its line and the lines after it, up to the next command line.
 */

export const PRIORITIES = ["critical", "high", "normal", "low"] as const;
export type PriorityName = (typeof PRIORITIES)[number];

export type Command =
  | { name: "run" }
  | { name: "retry"; fresh: boolean }
  | { name: "hint"; text: string; restart: boolean }
  | { name: "cancel"; reason: string }
  | { name: "pause" }
  | { name: "resume"; hint: string }
  | { name: "resolve"; note: string }
  | { name: "priority"; level: PriorityName }
  | { name: "status" }
  | { name: "plan"; accept: boolean; label: boolean }
  | { name: "help" };
export type CommandName = Command["name"];

/** One command line of a comment: the command, or why it could not be read (answered with the help). */
export type ParsedCommand = { index: number; line: string } & (
  { ok: true; command: Command } | { ok: false; problem: string }
);

export const COMMAND_NAMES: readonly CommandName[] = [
  "run",
  "retry",
  "hint",
  "cancel",
  "pause",
  "resume",
  "resolve",
  "priority",
  "status",
  "plan",
  "help",
];

/** How each command is written, and what it does, for the help. */
export const COMMAND_USAGE: Record<CommandName, { usage: string; does: string }> = {
  run: { usage: "/drover run", does: "starts this issue as a task, as the label would" },
  retry: {
    usage: "/drover retry [--fresh]",
    does: "a new attempt on top of the task branch (its pull request's head); `--fresh` starts again from the base branch",
  },
  hint: {
    usage: "/drover hint [--restart] <text>",
    does: "guidance for the agent's next attempt; `--restart` stops the running attempt (keeping its work) and starts the next at once",
  },
  cancel: {
    usage: "/drover cancel [reason]",
    does: "stops the task now; a running agent's work so far is pushed to the task branch",
  },
  pause: {
    usage: "/drover pause",
    does: "stops the agent, keeps its work on the branch, and holds the task and its dependents",
  },
  resume: { usage: "/drover resume [hint]", does: "continues a paused task from its branch" },
  resolve: {
    usage: "/drover resolve [note]",
    does: "declares a blocked or failed task done: its dependents start, and see the note",
  },
  priority: {
    usage: "/drover priority <critical|high|normal|low>",
    does: "sets the task's priority label",
  },
  status: { usage: "/drover status", does: "refreshes the status comment and links to it" },
  plan: {
    usage: "/drover plan [accept [--no-label]]",
    does: "on an issue holding a spec: the agent proposes epics, stories and tasks (read-only); `accept` creates them as sub-issues and starts the tasks (`--no-label`: created, not started)",
  },
  help: { usage: "/drover help", does: "this list" },
};

/**
 * The task states each command applies in; `none` means the issue is not a task (yet). Commands that
 * change nothing of the task's run (status, help, priority) apply in every state.
 */
export type TaskStateOrNone = TaskState | "none";
const EVERY: readonly TaskStateOrNone[] = [
  "none",
  "waiting",
  "ready",
  "queued",
  "running",
  "review",
  "conflict",
  "done",
  "blocked",
  "retrying",
  "failed",
  "cancelled",
  "paused",
];
export const APPLIES_IN: Record<CommandName, readonly TaskStateOrNone[]> = {
  run: ["none", "done", "failed", "blocked", "cancelled", "review", "conflict"],
  retry: ["failed", "blocked", "cancelled", "review", "conflict"],
  hint: [
    "waiting",
    "ready",
    "queued",
    "running",
    "review",
    "conflict",
    "blocked",
    "retrying",
    "failed",
    "cancelled",
    "paused",
  ],
  cancel: [
    "waiting",
    "ready",
    "queued",
    "running",
    "review",
    "conflict",
    "blocked",
    "retrying",
    "failed",
    "paused",
  ],
  pause: ["waiting", "ready", "queued", "running", "retrying"],
  resume: ["paused"],
  resolve: ["blocked", "failed", "cancelled"],
  priority: EVERY,
  status: EVERY.filter((state) => state !== "none"),
  // A spec issue is planned whatever its own task (if it has one) is doing.
  plan: EVERY,
  help: EVERY,
};

export function appliesIn(name: CommandName, state: TaskStateOrNone): boolean {
  return APPLIES_IN[name].includes(state);
}

/** The longest text Drover takes from one command (a hint, a reason, a note). */
export const MAX_COMMAND_TEXT = 20_000;

const COMMAND_LINE = /^ {0,3}\/drover(?=\s|$)(.*)$/i;
const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})(.*)$/;

/** Every command line of `body`, in order. Empty when the comment has none. */
export function parseCommands(body: string): ParsedCommand[] {
  const { lines, found } = commandLines(body);
  return found.map(({ at, rest, line }, index) => {
    const next = found[index + 1]?.at ?? lines.length;
    // A hint may hold a code block: the lines after a command are its text, whatever they are.
    const following = lines.slice(at + 1, next);
    const parsed = parseOne(rest, following.join("\n"));
    return parsed.ok
      ? { index, line, ok: true, command: parsed.command }
      : { index, line, ok: false, problem: parsed.problem };
  });
}

/**
 * The text of `body` that is not a command: everything before its first command line (what follows a
 * command is that command's text). A review whose body holds `/drover hint ...` gives its hint once.
 */
export function withoutCommands(body: string): string {
  const { lines, found } = commandLines(body);
  const first = found[0]?.at;
  return (first === undefined ? lines : lines.slice(0, first)).join("\n").trim();
}

function commandLines(body: string) {
  const lines = body.replace(/\r\n?/g, "\n").split("\n");
  const found: { at: number; rest: string; line: string }[] = [];
  let fence: { char: string; length: number } | null = null;
  let previousBlank = true;
  for (const [at, line] of lines.entries()) {
    if (fence) {
      const close = new RegExp(`^ {0,3}${fence.char === "`" ? "`" : "~"}{${fence.length},}\\s*$`);
      if (close.test(line)) fence = null;
      previousBlank = false;
      continue;
    }
    const open = FENCE_OPEN.exec(line);
    if (open?.[1] && !(open[1].startsWith("`") && (open[2] ?? "").includes("`"))) {
      fence = { char: open[1][0] ?? "`", length: open[1].length };
      previousBlank = false;
      continue;
    }
    const blank = line.trim() === "";
    // Indented code starts after a blank line; a quote is any line whose first mark is `>`.
    const code = previousBlank && /^( {4}|\t)/.test(line) && !blank;
    const quote = /^ {0,3}>/.test(line);
    previousBlank = blank;
    if (code || quote) continue;
    const command = COMMAND_LINE.exec(line);
    if (command) found.push({ at, rest: command[1] ?? "", line: line.trim() });
  }
  return { lines, found };
}

type One = { ok: true; command: Command } | { ok: false; problem: string };

function parseOne(rest: string, following: string): One {
  const trimmed = rest.trim();
  const [rawName = "", ...words] = trimmed.split(/\s+/).filter(Boolean);
  const name = rawName.toLowerCase();
  const argText = trimmed.slice(rawName.length).trim();
  const text = [argText, following.trim()].filter(Boolean).join("\n").trim();
  const tooLong = (what: string): One => ({
    ok: false,
    problem: `the ${what} is ${text.length} characters; Drover takes up to ${MAX_COMMAND_TEXT}`,
  });
  const noArgs = (command: Command): One =>
    words.length === 0
      ? { ok: true, command }
      : { ok: false, problem: `\`/drover ${name}\` takes nothing after it (got \`${clip(argText)}\`)` };
  switch (name) {
    case "":
      return { ok: false, problem: "`/drover` needs a command after it" };
    case "run":
      return noArgs({ name: "run" });
    case "pause":
      return noArgs({ name: "pause" });
    case "status":
      return noArgs({ name: "status" });
    case "help":
      return { ok: true, command: { name: "help" } };
    case "retry": {
      const flags = words.map((word) => word.toLowerCase());
      if (flags.every((flag) => flag === "--fresh"))
        return { ok: true, command: { name: "retry", fresh: flags.length > 0 } };
      return {
        ok: false,
        problem: `\`/drover retry\` takes only \`--fresh\` (got \`${clip(argText)}\`)`,
      };
    }
    case "hint": {
      const restart = words[0]?.toLowerCase() === "--restart";
      const hint = (restart ? text.replace(/^--restart\b/i, "") : text).trim();
      if (!hint) return { ok: false, problem: "`/drover hint` needs the hint's text after it" };
      if (hint.length > MAX_COMMAND_TEXT) return tooLong("hint");
      return { ok: true, command: { name: "hint", text: hint, restart } };
    }
    case "cancel":
      return text.length > MAX_COMMAND_TEXT
        ? tooLong("reason")
        : { ok: true, command: { name: "cancel", reason: text } };
    case "resume":
      return text.length > MAX_COMMAND_TEXT
        ? tooLong("hint")
        : { ok: true, command: { name: "resume", hint: text } };
    case "resolve":
      return text.length > MAX_COMMAND_TEXT
        ? tooLong("note")
        : { ok: true, command: { name: "resolve", note: text } };
    case "priority": {
      const level = words[0]?.toLowerCase();
      if (words.length === 1 && (PRIORITIES as readonly string[]).includes(level ?? ""))
        return { ok: true, command: { name: "priority", level: level as PriorityName } };
      return {
        ok: false,
        problem: `\`/drover priority\` takes one of ${PRIORITIES.join(", ")} (got \`${clip(argText) || "nothing"}\`)`,
      };
    }
    case "plan":
      return parsePlanCommand(words, argText);
    default:
      return { ok: false, problem: `\`${clip(rawName)}\` is not a Drover command` };
  }
}

/** `/drover plan`, `/drover plan accept`, `/drover plan accept --no-label`. */
function parsePlanCommand(words: readonly string[], argText: string): One {
  const [first, ...rest] = words.map((word) => word.toLowerCase());
  if (first === undefined) return { ok: true, command: { name: "plan", accept: false, label: true } };
  if (first === "accept" && rest.every((flag) => flag === "--no-label") && rest.length <= 1)
    return { ok: true, command: { name: "plan", accept: true, label: rest.length === 0 } };
  return {
    ok: false,
    problem: `\`/drover plan\` takes nothing, \`accept\` or \`accept --no-label\` (got \`${clip(argText)}\`)`,
  };
}

/** True when `body` holds a command line: such a comment is a command, not discussion for the agent. */
export function hasCommand(body: string): boolean {
  return parseCommands(body).length > 0;
}

function clip(text: string): string {
  const one = text.replace(/\s+/g, " ").replaceAll("`", "'");
  return one.length > 60 ? `${one.slice(0, 57)}...` : one;
}

/** The label `/drover priority <level>` sets. */
export function priorityLabel(level: PriorityName): string {
  return `priority: ${level}`;
}

/** Labels the scheduler reads as a priority (`priority: high`, `P1`, any case): see `priorityFromLabels`. */
export function isPriorityLabel(label: string): boolean {
  const text = label.trim().toLowerCase();
  return /^priority\s*:\s*(critical|high|normal|low)$/.test(text) || /^p\s*[0-3]$/.test(text);
}

/** The commands that apply in `state`, in the help's order: what would work instead of a refused one. */
export function commandsFor(state: TaskStateOrNone): CommandName[] {
  return COMMAND_NAMES.filter((name) => appliesIn(name, state));
}
