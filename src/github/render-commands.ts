import {
  APPLIES_IN,
  COMMAND_NAMES,
  COMMAND_USAGE,
  appliesIn,
  commandsFor,
  type CommandName,
  type TaskStateOrNone,
} from "../graph/commands.ts";

/** What Drover answers `/drover` commands with. Pure: everything it shows comes in as data. */

/** "a task that is `failed`", or "an issue that is not a Drover task". */
function describeState(state: TaskStateOrNone): string {
  return state === "none" ? "this issue is not a Drover task" : `the task is \`${state}\``;
}

function stateList(states: readonly TaskStateOrNone[]): string {
  const words = states.map((state) => (state === "none" ? "not a task yet" : `\`${state}\``));
  return words.length <= 1 ? (words[0] ?? "") : `${words.slice(0, -1).join(", ")} or ${words.at(-1)}`;
}

/** Why a command did nothing in `state`, when it would apply, and what would work now. */
export function renderNotApplied(name: CommandName, state: TaskStateOrNone): string {
  const instead = commandsFor(state).filter((other) => !["help", "status", "priority"].includes(other));
  return [
    `\`/drover ${name}\` did nothing: ${describeState(state)}. It applies when the task is ${stateList(APPLIES_IN[name])}.`,
    instead.length > 0
      ? `What works now: ${instead.map((other) => `\`${COMMAND_USAGE[other].usage}\``).join(", ")}.`
      : "",
  ]
    .filter(Boolean)
    .join(" ");
}

/** Every command with its usage, marking those that apply in `state`. */
export function renderHelp(state: TaskStateOrNone, problems: readonly string[] = []): string {
  return [
    ...problems.map((problem) => `Drover could not read a command: ${problem}.`),
    ...(problems.length > 0 ? [""] : []),
    `**Drover commands** (a line of its own, in a comment on the issue or its pull request; ${describeState(state)}, ✅ marks what applies now):`,
    "",
    "| | command | does |",
    "|---|---|---|",
    ...COMMAND_NAMES.map(
      (name) =>
        `| ${appliesIn(name, state) ? "✅" : ""} | \`${COMMAND_USAGE[name].usage.replaceAll("|", "\\|")}\` | ${COMMAND_USAGE[name].does} |`,
    ),
  ].join("\n");
}

/** The one reply to a comment whose author may not steer Drover. */
export function renderNotAllowed(input: {
  login: string;
  reason: "bot" | "permission";
  permission: string;
}): string {
  const who =
    input.reason === "bot"
      ? `@${input.login} is a bot`
      : `@${input.login} has \`${input.permission}\` access to this repository`;
  return (
    `Drover did not act on this comment: ${who}. Only people with write, maintain or admin access ` +
    "can steer Drover with `/drover` commands."
  );
}

/** The reply to a comment: its author, then what each of its commands needs said, in order. */
export function renderCommandReply(input: {
  author: string;
  url: string | null;
  parts: readonly string[];
}): string {
  const to = input.url ? `@${input.author} ([your comment](${input.url}))` : `@${input.author}`;
  return [`${to}:`, "", ...input.parts.flatMap((part, i) => (i === 0 ? [part] : ["", part]))].join("\n");
}
