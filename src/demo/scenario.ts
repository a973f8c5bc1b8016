/**
 * The demo's sample project: a small notes library and eight issues linked as a maintainer would link
 * them (a chain, a diamond, and a story whose sub-issues run first). Each issue carries the code that
 * resolves it in a fenced block (` ```js file=path `), which the demo's scripted agent writes: real
 * commits, real merges, and dependents that import what their blockers added. Pure data.
 */

export type DemoIssue = {
  /** The issue's number in the fresh repository (issues are created in this order). */
  number: number;
  title: string;
  body: string;
  blockedBy: number[];
  subIssues: number[];
};

export const DEMO_REPO = "notes";

export const DEMO_FILES: Record<string, string> = {
  "README.md": "# notes\n\nA tiny library for Markdown notes, built issue by issue by Drover's demo.\n",
  "package.json": `${JSON.stringify({ name: "notes", version: "0.0.0", private: true, type: "module", scripts: { test: "node --test" } }, null, 2)}\n`,
};

const code = (path: string, text: string) => `\`\`\`js file=${path}\n${text.trim()}\n\`\`\``;

export const DEMO_ISSUES: DemoIssue[] = [
  {
    number: 1,
    title: "Count the words in a note",
    blockedBy: [],
    subIssues: [],
    body: `Notes need a word count. Add \`countWords(text)\` that counts runs of letters or digits.\n\n${code(
      "src/words.js",
      "export function countWords(text) {\n  return (text.match(/[\\p{L}\\p{N}']+/gu) ?? []).length;\n}",
    )}`,
  },
  {
    number: 2,
    title: "Estimate reading time",
    blockedBy: [1],
    subIssues: [],
    body: `At 200 words a minute, rounded up, at least one minute. Uses the word count from #1.\n\n${code(
      "src/reading-time.js",
      'import { countWords } from "./words.js";\n\nexport function readingMinutes(text) {\n  return Math.max(1, Math.ceil(countWords(text) / 200));\n}',
    )}`,
  },
  {
    number: 3,
    title: "Summarise a note",
    blockedBy: [2],
    subIssues: [],
    body: `A one-line summary: the first non-empty line and the reading time from #2.\n\n${code(
      "src/summary.js",
      'import { readingMinutes } from "./reading-time.js";\n\nexport function summarise(text) {\n  const first = text.split("\\n").find((line) => line.trim() !== "") ?? "";\n  return `${first.trim()} (${readingMinutes(text)} min)`;\n}',
    )}`,
  },
  {
    number: 4,
    title: "Parse front matter",
    blockedBy: [],
    subIssues: [],
    body: `Notes may start with \`---\`-fenced \`key: value\` lines. Return the fields and the rest of the text.\n\n${code(
      "src/front-matter.js",
      'export function parseFrontMatter(text) {\n  const match = /^---\\n([\\s\\S]*?)\\n---\\n?/.exec(text);\n  if (!match) return { fields: {}, body: text };\n  const fields = {};\n  for (const line of match[1].split("\\n")) {\n    const at = line.indexOf(":");\n    if (at > 0) fields[line.slice(0, at).trim()] = line.slice(at + 1).trim();\n  }\n  return { fields, body: text.slice(match[0].length) };\n}',
    )}`,
  },
  {
    number: 5,
    title: "Take the title from front matter",
    blockedBy: [4],
    subIssues: [],
    body: `The \`title\` field from #4, else the first heading, else "Untitled".\n\n${code(
      "src/title.js",
      'import { parseFrontMatter } from "./front-matter.js";\n\nexport function titleOf(text) {\n  const { fields, body } = parseFrontMatter(text);\n  return fields.title ?? /^#\\s+(.+)$/m.exec(body)?.[1] ?? "Untitled";\n}',
    )}`,
  },
  {
    number: 6,
    title: "Collect tags from front matter",
    blockedBy: [4],
    subIssues: [],
    body: `The comma-separated \`tags\` field from #4, trimmed and lower-cased. (The demo's agent fails on its first try at this one, to show Drover retrying.)\n\n${code(
      "src/tags.js",
      'import { parseFrontMatter } from "./front-matter.js";\n\nexport function tagsOf(text) {\n  const tags = parseFrontMatter(text).fields.tags ?? "";\n  return tags.split(",").map((tag) => tag.trim().toLowerCase()).filter(Boolean);\n}',
    )}`,
  },
  {
    number: 7,
    title: "Render an index of notes",
    blockedBy: [5, 6],
    subIssues: [],
    body: `A Markdown list of notes with their titles (#5) and tags (#6).\n\n${code(
      "src/index-page.js",
      'import { tagsOf } from "./tags.js";\nimport { titleOf } from "./title.js";\n\nexport function renderIndex(notes) {\n  return notes\n    .map((text) => `- ${titleOf(text)}${tagsOf(text).map((tag) => ` #${tag}`).join("")}`)\n    .join("\\n");\n}',
    )}`,
  },
  {
    number: 8,
    title: "Story: a notes command line",
    blockedBy: [],
    subIssues: [3, 7],
    body: `Once summaries (#3) and the index (#7) exist, a command that prints both for the files it is given.\n\n${code(
      "bin/notes.js",
      'import { readFileSync } from "node:fs";\nimport { renderIndex } from "../src/index-page.js";\nimport { summarise } from "../src/summary.js";\n\nconst notes = process.argv.slice(2).map((file) => readFileSync(file, "utf8"));\nconsole.log(renderIndex(notes));\nfor (const note of notes) console.log(summarise(note));',
    )}`,
  },
];

/** The repository's `.github/drover.yml` for the demo. */
export function demoConfig(opts: { agentCommand: string[]; workers: number }): string {
  return [
    "# Drover's demo: every task runs the scripted agent.",
    "agent: command",
    `agent_command: ${JSON.stringify(opts.agentCommand)}`,
    `max_workers: ${opts.workers}`,
    "task_timeout: 2m",
    "retry_delay: 1s",
    "",
  ].join("\n");
}
