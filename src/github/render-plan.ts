import type { BacklogItem } from "../graph/backlog.ts";
import { priorityLevel } from "../graph/backlog.ts";
import { fence, noMentions } from "../lib/markdown.ts";

/**
 * What `/drover plan` posts, and `drover spec` prints: the proposal as a tree (epics, their stories, their
 * tasks; items without a parent at the top), each with its kind, id, title, priority, one-line description
 * and what blocks it. Pure.
 */
export function renderPlanTree(
  items: readonly BacklogItem[],
  /** How a line under an item's title ends: a Markdown hard break, or nothing (a terminal). */
  lineEnd: "\\" | "" = "\\",
): string {
  const children = new Map<string | null, BacklogItem[]>();
  const ids = new Set(items.map((item) => item.id));
  for (const item of items) {
    const parent = item.parent !== null && ids.has(item.parent) ? item.parent : null;
    children.set(parent, [...(children.get(parent) ?? []), item]);
  }
  const lines: string[] = [];
  const walk = (parent: string | null, depth: number) => {
    for (const item of children.get(parent) ?? []) {
      const pad = "  ".repeat(depth + 1);
      // One list item: the title, then its description and blockers on lines of their own (hard breaks).
      const block = [
        itemLine(item),
        ...(item.description ? [plain(item.description)] : []),
        ...(item.blockedBy.length > 0
          ? [`blocked by ${item.blockedBy.map((id) => `\`${plain(id)}\``).join(", ")}`]
          : []),
      ];
      lines.push(`${"  ".repeat(depth)}- ${block.join(`${lineEnd}\n${pad}`)}`);
      walk(item.id, depth + 1);
    }
  };
  walk(null, 0);
  return lines.join("\n");
}

function itemLine(item: BacklogItem): string {
  const priority =
    item.priority === null ? "" : ` · priority ${item.priority} (${priorityLevel(item.priority)})`;
  return `**${item.kind}** \`${plain(item.id)}\` ${plain(item.title)}${priority}`;
}

/** Text from an agent shown as text: no HTML, no mentions that ping, no links it did not mean. */
function plain(text: string): string {
  return noMentions(
    text.replaceAll("\\", "\\\\").replace(/[<>]/g, (c) => (c === "<" ? "&lt;" : "&gt;")),
  ).replaceAll("`", "'");
}

function counts(items: readonly BacklogItem[]): string {
  const plural = { epic: "epics", story: "stories", task: "tasks" } as const;
  return (["epic", "story", "task"] as const)
    .map((kind) => [kind, items.filter((item) => item.kind === kind).length] as const)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${n} ${n === 1 ? kind : plural[kind]}`)
    .join(", ");
}

/** The proposal comment on the spec issue. */
export function renderProposal(input: {
  items: readonly BacklogItem[];
  by: string;
  label: string;
  /** Files the agent changed in its read-only checkout, discarded. */
  discarded: readonly string[];
}): string {
  return [
    `### Drover: proposed plan (${counts(input.items)})`,
    "",
    `Asked for by @${input.by}: epics, stories and tasks, each with its priority (1–10) and what blocks it.`,
    "",
    renderPlanTree(input.items),
    "",
    ...discardedNote(input.discarded),
    `A person with write access accepts it with \`/drover plan accept\`: each item becomes a sub-issue of this issue (stories and tasks under their parents, with their "blocked by" links), and the tasks are labelled \`${input.label}\` and started. \`/drover plan accept --no-label\` creates them without the label, to start later. \`/drover plan\` again replaces this proposal.`,
  ].join("\n");
}

/** The comment for a planning run that gave no usable plan. */
export function renderPlanFailure(input: {
  problems: readonly string[];
  what: string;
  tail: string;
  discarded: readonly string[];
}): string {
  return [
    "### Drover: no plan",
    "",
    `${input.what} Nothing was proposed; any earlier proposal stands.`,
    "",
    ...input.problems.map((problem) => `- ${problem}`),
    "",
    ...discardedNote(input.discarded),
    ...(input.tail.trim()
      ? [
          "<details><summary>The end of the agent's output</summary>",
          "",
          fence(input.tail),
          "",
          "</details>",
          "",
        ]
      : []),
    "`/drover plan` tries again.",
  ].join("\n");
}

/** The comment for a planning run that could not run at all (the checkout, the agent's home). */
export function renderPlanError(message: string): string {
  return [
    "### Drover: no plan",
    "",
    "Drover could not run the planning agent, and gave up after trying again:",
    "",
    fence(message),
    "",
    "Nothing was proposed; any earlier proposal stands. `/drover plan` tries again.",
  ].join("\n");
}

function discardedNote(discarded: readonly string[]): string[] {
  if (discarded.length === 0) return [];
  const shown = discarded.slice(0, 10).map((file) => `\`${plain(file)}\``);
  if (discarded.length > 10) shown.push(`and ${discarded.length - 10} more`);
  return [
    `The agent changed files in its read-only checkout (${shown.join(", ")}); planning changes nothing, so they were discarded.`,
    "",
  ];
}

/** The reply to `/drover plan accept`: what was created, with links. */
export function renderAcceptError(message: string): string {
  return [
    "### Drover: the plan was not created",
    "",
    "Drover could not create the accepted plan, and gave up after trying again:",
    "",
    fence(message),
    "",
    "What was made is kept: `/drover plan accept` again finishes it, creating nothing twice.",
  ].join("\n");
}

export function renderAccepted(input: {
  created: readonly {
    title: string;
    kind: BacklogItem["kind"];
    number: number | null;
    url: string | null;
    created: boolean;
  }[];
  started: number;
  /** Tasks already Drover's (started before, by an accept or a person): left as they are. */
  left: number;
  labelled: boolean;
  label: string;
}): string {
  const made = input.created.filter((item) => item.created).length;
  const reused = input.created.length - made;
  return [
    `Plan accepted: ${made} issue${made === 1 ? "" : "s"} created${reused > 0 ? `, ${reused} found from an earlier accept` : ""}, as sub-issues of this one.`,
    "",
    ...input.created.map(
      (item) =>
        `- ${item.kind} ${item.number === null ? "" : `#${item.number} `}${plain(item.title)}${item.created ? "" : " (already there)"}`,
    ),
    "",
    input.labelled
      ? `Tasks labelled \`${input.label}\`: ${input.started} started${input.left > 0 ? `, ${input.left} started before and left as they are` : ""}.`
      : `The tasks are not labelled (\`--no-label\`): \`/drover run\` on one, or the \`${input.label}\` label, starts it.`,
  ].join("\n");
}
