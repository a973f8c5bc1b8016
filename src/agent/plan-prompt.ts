import { fence } from "../lib/markdown.ts";
import { stripHidden } from "./hidden-text.ts";

/**
 * The prompt for a planning run: the spec (an issue's body and the repository files it links, or a spec
 * file), and how to answer with a `drover-plan` block. Pure. The agent reads the repository to plan
 * against what is there, and changes nothing: its checkout is read-only.
 */

/** A file of the repository the spec links, as read from the base branch (already cut to its limit). */
export type SpecFile = { path: string; text: string; truncated: boolean };

export type PlanBrief = {
  /** `owner/name`, or null for a spec file planned outside any repository. */
  repository: string | null;
  title: string;
  body: string;
  files: readonly SpecFile[];
};

/**
 * The example block the prompt shows. An adapter that echoes its prompt into its output puts this block
 * there too: read from the output, it is the prompt's, not the agent's plan (jobs/plan/planner.ts).
 */
export const PLAN_EXAMPLE = [
  "```drover-plan",
  '[{"id": "E1", "kind": "epic", "title": "Accounts", "description": "People sign up and sign in", "priority": 7, "parent": null, "blocked_by": []},',
  ' {"id": "T1", "kind": "task", "title": "User table", "description": "A users table with a migration", "priority": 7, "parent": "E1", "blocked_by": []},',
  ' {"id": "T2", "kind": "task", "title": "Sign-up form", "description": "A form that creates a user", "priority": 5, "parent": "E1", "blocked_by": ["T1"]}]',
  "```",
].join("\n");

export function buildPlanPrompt(brief: PlanBrief): string {
  const files = brief.files.map(
    (file) =>
      `### ${file.path}${file.truncated ? " (cut: the rest is in the checkout)" : ""}\n\n${fence(stripHidden(file.text), "markdown")}`,
  );
  return [
    `# Plan the work of a spec${brief.repository ? ` for ${brief.repository}` : ""}`,
    "You are planning, not coding. Read the spec below (and the repository in your working directory, which is read-only: change nothing) and break the work into epics, stories and tasks that coding agents can each finish in one pull request.",
    `## The spec: ${stripHidden(brief.title)}`,
    fence(stripHidden(brief.body) || "(empty)", "markdown"),
    ...(files.length > 0 ? ["## Files the spec links", ...files] : []),
    "## How to answer",
    [
      "End your answer with one fenced block opened with ```drover-plan holding a JSON array of items. Each item:",
      "",
      '- `id`: short and unique within the plan (letters, digits, ".", "_", "-"), e.g. "E1", "S1", "T1";',
      '- `kind`: "epic", "story" or "task" (tasks are what agents run; a story groups tasks, an epic groups stories and tasks);',
      "- `title`: the issue's title;",
      "- `description`: one line saying what done looks like;",
      "- `priority`: 1–10, higher is more urgent;",
      "- `parent`: the id of the epic (for a story) or the story or epic (for a task) it belongs to, or null;",
      "- `blocked_by`: the ids of the items that must be done first (no cycles), or [].",
      "",
      "For example:",
      "",
      PLAN_EXAMPLE,
    ].join("\n"),
  ].join("\n\n");
}

/** The most files of its repository a spec brings into the prompt. */
export const MAX_SPEC_FILES = 10;

/**
 * The repository files a spec's body links: relative links (`[spec](docs/spec.md)`, `./docs/spec.md`) and
 * GitHub's URLs of its own files (`https://github.com/owner/name/blob/main/docs/spec.md`), as paths inside
 * the repository, each once (blob URLs, then links, then bare paths), up to MAX_SPEC_FILES. Paths that climb out (`..`) are left out.
 * Pure; whether each exists is the checkout's to say.
 */
export function specFileLinks(body: string, repoFullName: string): string[] {
  const found: string[] = [];
  const add = (raw: string) => {
    const clean = decodeSafely(raw.split(/[?#]/)[0] ?? "")
      .replace(/^\.\//, "")
      .replace(/^\/+/, "");
    if (!clean || clean.split("/").some((part) => part === ".." || part === "")) return;
    if (!found.includes(clean)) found.push(clean);
  };
  const escaped = repoFullName.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const blob = new RegExp(`https?://[^/\\s]+/${escaped}/blob/[^/\\s]+/([^\\s)>"']+)`, "gi");
  for (const match of body.matchAll(blob)) add(match[1] ?? "");
  for (const match of body.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    const target = match[1] ?? "";
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("#")) continue;
    add(target);
  }
  for (const match of body.matchAll(
    /(?:^|[\s(`])((?:\.\/)?[\w.-]+(?:\/[\w.-]+)*\.(?:md|markdown|txt|rst|adoc))(?=$|[\s)`.,;:])/gm,
  ))
    add(match[1] ?? "");
  return found.slice(0, MAX_SPEC_FILES);
}

function decodeSafely(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
