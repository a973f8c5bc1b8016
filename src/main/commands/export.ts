import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import type { CliCommand } from "../command.ts";
import { isRepoName, withOperatorDatabase } from "../command.ts";
import { environment, exit } from "../env.ts";

const SYNOPSIS = "export --repo owner/name [--format jsonl|json] [--out FILE]";

export type ExportArgs = { repo: string; format: "jsonl" | "json"; out: string | null };

/** The command's arguments, or one line saying what is wrong. Pure. */
export function exportArgs(args: string[]): ExportArgs | { error: string } {
  const usage = `usage: drover ${SYNOPSIS}`;
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        repo: { type: "string" },
        format: { type: "string", default: "jsonl" },
        out: { type: "string" },
      },
      strict: true,
    }));
  } catch (error) {
    return { error: `export: ${(error as Error).message}; ${usage}` };
  }
  if (values.repo === undefined) return { error: `export needs --repo owner/name; ${usage}` };
  if (!isRepoName(values.repo))
    return { error: `--repo "${values.repo}" is not a repository; use owner/name` };
  if (values.format !== "jsonl" && values.format !== "json")
    return { error: `--format must be jsonl or json (got "${values.format}")` };
  if (values.out === "") return { error: "--out needs a file name" };
  return { repo: values.repo, format: values.format, out: values.out ?? null };
}

export const exportCommand: CliCommand = {
  name: "export",
  usage: `  ${SYNOPSIS}
                                      the repository's task graph and what Drover did with each task
                                      (attempts, verdicts, checks, hints, commands, who created,
                                      steered and completed it); the JSONL imports elsewhere with
                                      import-jsonl
`,
  help: `Usage: drover ${SYNOPSIS}

Writes what Drover recorded in PostgreSQL (DATABASE_URL) about owner/name: every issue of its
task graph (tasks, their blockers, stories and epics) with title, parent, "blocked by" edges,
priority and state, and for each task its history: who created, steered and completed it, the
pull request, each attempt (verdict, checks, agent, duration, cost), hints, /drover commands and
events.

--format jsonl (the default) writes one record a line in the shape \`drover import-jsonl\` reads:
{"id": "acme/app#12", "type": "task", "story_id": "acme/app#10", "title": "...",
 "priority": "high", "blocked_by": ["acme/app#11"], "state": "open", "history": {...}}
so importing an export into another repository makes the same graph: closed issues are made
closed ("state": closed or not_planned) and only open tasks are started. An issue without
sub-issues that Drover never had as a task (a blocker filed by hand, say) is written as a task
with "drover": false: imported without the Drover label and never started. The import sets
"history" aside. --format json writes one document: {"repository", "exported_at", "items"}.

Portable: ids are owner/name#N and times ISO 8601; no database ids, no paths of the machine
Drover ran on (check output is left out), no secrets. Issue descriptions are not kept by Drover
and so are not exported. Blockers in other repositories are kept in history as
blocked_by_elsewhere.

Options:
  --repo owner/name   the repository to export (as Drover recorded it)
  --format jsonl|json the output's shape (default jsonl)
  --out FILE          write to FILE instead of stdout

Progress goes to stderr.

Exit codes: 0 written, 1 PostgreSQL could not be read or the arguments are wrong.

Example:
  drover export --repo acme/app --out acme-app.jsonl
  drover import-jsonl acme-app.jsonl --repo acme/app-copy
`,
  async run(args) {
    const parsed = exportArgs(args);
    if ("error" in parsed) exit(parsed.error);
    const env = environment();
    const { readRepositoryExport } = await import("../../db/export.ts");
    const { exportJson, exportJsonl, exportRecords } = await import("../../report/backlog-export.ts");
    const { progress } = await import("../../report/progress.ts");
    const bar = progress(process.stderr, "exporting", 2);
    const output = await withOperatorDatabase(env, async (database) => {
      const rows = await readRepositoryExport(database.db, parsed.repo).catch((error: unknown) =>
        exit(`could not read PostgreSQL at DATABASE_URL: ${(error as Error).message}`),
      );
      bar.tick(1, `${rows.issues.length} issues, ${rows.tasks.length} tasks read`);
      if (rows.issues.length === 0)
        process.stderr.write(
          `drover: Drover has recorded no issues of ${parsed.repo} (is the name right, and has Drover seen its tasks?)\n`,
        );
      const { records, problems } = exportRecords(rows);
      for (const problem of problems)
        process.stderr.write(`drover: warning: importing this export would refuse it: ${problem}\n`);
      const text =
        parsed.format === "jsonl" ? exportJsonl(records) : exportJson(parsed.repo, records, new Date());
      bar.tick(1, `${records.length} records`);
      return text;
    });
    if (parsed.out === null) process.stdout.write(output);
    else
      await writeFile(parsed.out, output).catch((error: unknown) =>
        exit(`cannot write ${parsed.out}: ${(error as Error).message}`),
      );
    bar.end(parsed.out === null ? undefined : `drover: wrote ${parsed.out}`);
  },
};
