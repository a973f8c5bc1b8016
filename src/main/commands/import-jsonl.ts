import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { loadRepoConfig } from "../../config/load.ts";
import { readBacklogJsonl } from "../../graph/backlog-jsonl.ts";
import type { BacklogItem } from "../../graph/backlog.ts";
import type { CreateBacklogResult } from "../../github/backlog-create.ts";
import type { CliCommand } from "../command.ts";
import { isRepoName } from "../command.ts";
import { environment, exit } from "../env.ts";
import type { ActingInstallation } from "../installation.ts";

/** GitHub's secondary limit on content-creating requests (issues, links) per installation and hour. */
const HOURLY_WRITES = 500;

const SYNOPSIS = "import-jsonl <file> --repo owner/name [--dry-run] [--no-label]";

export type ImportArgs = { file: string; repo: string; dryRun: boolean; label: boolean };

/** The command's arguments, or one line saying what is wrong (with the synopsis). Pure. */
export function importArgs(args: string[]): ImportArgs | { error: string } {
  const usage = `usage: drover ${SYNOPSIS}`;
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        repo: { type: "string" },
        "dry-run": { type: "boolean", default: false },
        "no-label": { type: "boolean", default: false },
      },
      strict: true,
    });
  } catch (error) {
    return { error: `import-jsonl: ${(error as Error).message}; ${usage}` };
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1)
    return {
      error: `import-jsonl takes one file (got ${positionals.length === 0 ? "none" : positionals.join(" ")}); ${usage}`,
    };
  if (values.repo === undefined) return { error: `import-jsonl needs --repo owner/name; ${usage}` };
  if (!isRepoName(values.repo))
    return { error: `--repo "${values.repo}" is not a repository; use owner/name` };
  return { file: positionals[0]!, repo: values.repo, dryRun: values["dry-run"], label: !values["no-label"] };
}

/** What the import did, for stdout: the counts, then each item's issue. Pure. */
export function renderImport(result: CreateBacklogResult, dryRun: boolean): string {
  const lines = result.items.map(
    (item) =>
      `  ${item.id}  ${item.number === null ? "(new)" : `#${item.number}`}  ${
        item.created ? (dryRun ? "would be created" : "created") : "already there"
      }${item.url ? `  ${item.url}` : ""}`,
  );
  const writes = result.created + result.linked;
  const head = dryRun
    ? `Dry run, nothing written: would create ${result.created}, already there ${result.reused}, links to add ${result.linked}` +
      (writes > HOURLY_WRITES
        ? ` (${writes} writes: GitHub allows an installation ${HOURLY_WRITES} an hour, so the import waits or stops` +
          " at the limit; running it again goes on where it stopped)"
        : "")
    : `Created ${result.created}, already there ${result.reused}, links added ${result.linked}`;
  return `${head}\n${lines.join("\n")}\n`;
}

export const importJsonl: CliCommand = {
  name: "import-jsonl",
  usage: `  ${SYNOPSIS}
                                      create a JSON Lines backlog (epics, stories, tasks,
                                      priorities, blocked_by) as GitHub issues with sub-issues and
                                      "blocked by" links, then start its tasks; a rerun creates
                                      nothing twice and finishes what an earlier run left
`,
  help: `Usage: drover ${SYNOPSIS}

Creates the backlog in <file> as issues of owner/name, acting as the App's installation (the
credentials the app runs with: APP_ID and PRIVATE_KEY, GITHUB_API_URL for GitHub Enterprise):
epics and stories become parent issues with their sub-issues, tasks are labelled with the
repository's Drover label (drover.yml \`label\`, default "drover"), priorities become
"priority: <level>" labels, and blocked_by becomes GitHub's native "blocked by" links.

The file holds one record a line (blank lines are skipped):
  {"id": "EPIC-1", "type": "epic", "title": "Foundation", "description": "..."}
  {"id": "STORY-1", "type": "story", "epic_id": "EPIC-1", "title": "Sign-in", "priority": "high"}
  {"id": "TASK-1", "type": "task", "story_id": "STORY-1", "title": "Login form", "priority": 5,
   "blocked_by": ["TASK-0"]}
priority is 1-10 (higher is more urgent) or critical, high, normal, low. A task may name its epic
with epic_id instead of a story. "state" is open (the default), closed or not_planned: a closed
record's issue is made and closed with that reason, and is not started. "drover": false on a task
makes it a plain issue of the graph (a blocker that is not Drover's work): no Drover label, not
started. Descriptions post as written, except that @-mentions are kept from pinging (a zero-width
space after the @) and "<!--" shows as text. Records from \`drover export\` (with "state",
"drover" and "history") read as they are; "history" is set aside.

Every line is checked, and the graph (unknown ids, parents, cycles), before anything is made: a
bad file is reported, every problem with its line number, and nothing is created.

Each issue carries its record's id in a hidden marker, so running the import again creates
nothing twice. Only issues the App opened count (a marker on anyone else's issue is only text).
A rerun adds what an interrupted run left out: issues, sub-issue and "blocked by" links, the
closing of a closed record (unless a person reopened the issue). Labels go on with the issue in
one request, so a rerun leaves them as they are: a label a person removed stays off, and a
priority changed in the file since is not applied to an issue already made.

Issues the App makes do not start Drover by themselves (Drover ignores its own events), so each
open Drover task is then started as an operator's \`/drover run\`, queued where Drover runs (REDIS_URL), once
per issue however often the import runs. When the queue cannot be reached, the import says so:
start the tasks with \`/drover run\` on each, or run the import again once the queue is up.

Options:
  --repo owner/name   the repository to create the issues in (the App must be installed there)
  --dry-run           read GitHub and say what would be made; write nothing, start nothing
  --no-label          leave the Drover label off the tasks (nothing starts)

Progress goes to stderr; the summary and each item's issue URL to stdout.

Exit codes: 0 done (or nothing to do), 1 a problem in the file (nothing created) or GitHub
refused, 2 the file does not exist.

Example:
  drover import-jsonl backlog.jsonl --repo acme/app --dry-run
`,
  async run(args) {
    const parsed = importArgs(args);
    if ("error" in parsed) exit(parsed.error);
    const items = await readBacklogFile(parsed.file);
    const env = environment();
    // Loaded here, not for every `drover` command: it brings Probot.
    const { actAsInstallation } = await import("../installation.ts");
    const acting = await actAsInstallation(env, parsed.repo);
    const label = parsed.label ? await droverLabel(acting) : null;
    // Loaded here, not for every `drover` command: it brings the queue.
    const { createOrExit, startTasks, taskNumbers } = await import("../start-tasks.ts");
    const result = await createOrExit(acting, items, {
      label,
      dryRun: parsed.dryRun,
      doing: parsed.dryRun ? "checking" : "importing",
      finish: "run the import again to finish it",
    });
    process.stdout.write(renderImport(result, parsed.dryRun));
    if (parsed.dryRun || label === null) return;
    await startTasks(env, parsed.repo, acting.botLogin, taskNumbers(items, result));
  },
};

/** The file's items, or every problem (exit 1), or exit 2 when there is no such file. */
async function readBacklogFile(file: string): Promise<BacklogItem[]> {
  const text = await readFile(file, "utf8").catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      process.stderr.write(`drover: no file at ${file}\n`);
      process.exit(2);
    }
    exit(`cannot read ${file}: ${(error as Error).message}`);
  });
  const read = readBacklogJsonl(text);
  if (read.ok) return read.items;
  process.stderr.write(
    `drover: ${file} has ${read.problems.length} problem${read.problems.length > 1 ? "s" : ""}; nothing was created:\n` +
      read.problems.map((problem) => `  ${problem}\n`).join(""),
  );
  process.exit(1);
}

/** The repository's Drover label (drover.yml `label`), or the default when it has none. */
async function droverLabel(acting: ActingInstallation): Promise<string> {
  const config = await loadRepoConfig(acting.octokit, acting.repo).catch((error: unknown) =>
    exit(`could not read the repository's drover.yml: ${(error as Error).message}`),
  );
  return config.ok ? config.config.label : config.label;
}
