import type { EventFilter } from "../../db/events.ts";
import { environment, exit } from "../env.ts";
import type { CliCommand } from "../command.ts";
import { readFlags, withOperatorDatabase } from "../command.ts";

const SYNOPSIS =
  "drover stream [--type completed,failed] [--repo owner/name] [--story N] [--since ISO-time] [--json]";

/** `stream`'s options, read by the same rules as the events API's query; anything else is refused. */
export async function streamArgs(
  args: string[],
): Promise<{ filter: EventFilter; afterSeq: number | null; json: boolean }> {
  const { values } = readFlags("stream", SYNOPSIS, {
    args,
    options: {
      type: { type: "string", multiple: true },
      repo: { type: "string", multiple: true },
      story: { type: "string" },
      since: { type: "string" },
      json: { type: "boolean", default: false },
    },
  });
  const query = new URLSearchParams();
  for (const type of values.type ?? []) query.append("type", type);
  for (const repo of values.repo ?? []) query.append("repo", repo);
  if (values.story !== undefined) query.set("story", values.story);
  if (values.since !== undefined) query.set("since", values.since);
  // Loaded here, not for every `drover` command: it brings the database's event schema.
  const { parseEventQuery } = await import("../../web/event-query.ts");
  const parsed = parseEventQuery(new URL(`http://drover.invalid/?${query.toString()}`), {});
  // The API's errors name its parameters ("type: ..."); here they are options.
  if ("error" in parsed) exit(`--${parsed.error}`);
  return { filter: parsed.filter, afterSeq: parsed.afterSeq, json: values.json };
}

export const stream: CliCommand = {
  name: "stream",
  usage: `  stream [--type completed,failed] [--repo owner/name] [--story N] [--since ISO-time] [--json]
                                      what happens to tasks, a line per event, live until Ctrl-C;
                                      --since first shows what happened from then; --type takes
                                      event types (task.failed), short names (failed) or families
                                      (pr); --story N (with --repo) a story's sub-issues and its
                                      own; --json: NDJSON, as GET /drover/api/events sends
`,
  help: `Usage: ${SYNOPSIS}

Follows what happens to tasks, a line per event as it happens (every worker's, read from PostgreSQL),
until Ctrl-C: tasks queued, started, failed, completed; pull requests opened and merged; hints given.

Options:
  --type T[,T...]    only these: event types (task.failed), short names (failed) or families (pr, task);
                     may be repeated (default: every event)
  --repo owner/name  only this repository's events; may be repeated (default: every repository)
  --story N          only story #N's sub-issues and the story itself: N with one --repo, or
                     owner/name#N (default: every task)
  --since ISO-time   first show what happened from then, e.g. 2026-12-01T09:00:00Z (default: only
                     what happens from now)
  --json             one JSON object a line (NDJSON), as GET /drover/api/events sends (default: off)

Exit codes:
  0  stopped by Ctrl-C or SIGTERM, or the reader of its output left (e.g. | head)
  1  a bad option, or PostgreSQL did not answer

Example:
  drover stream --repo octo/widgets --type failed,completed --since 2026-12-01T00:00:00Z
`,
  async run(args) {
    const { filter, afterSeq, json } = await streamArgs(args);
    const env = environment();
    const { EventFeed } = await import("../../db/event-feed.ts");
    const { eventJson, eventLine } = await import("../../report/event-line.ts");
    await withOperatorDatabase(env, async (database) => {
      const feed = new EventFeed(database.db, database.sql, (error) =>
        process.stderr.write(`drover: reading events failed: ${error.message}\n`),
      );
      await feed
        .start()
        .catch((error: unknown) =>
          exit(`could not read PostgreSQL at DATABASE_URL: ${(error as Error).message}`),
        );
      const render = json ? eventJson : eventLine;
      feed.subscribe(filter, afterSeq, (event) => process.stdout.write(render(event)));
      process.stderr.write("drover: following events as they happen; Ctrl-C stops\n");
      await new Promise<void>((resolve) => {
        process.once("SIGINT", () => resolve());
        process.once("SIGTERM", () => resolve());
        // Piped into `head`: the reader left, which is the end of the stream, not an error.
        process.stdout.on("error", () => resolve());
      });
      // Stopping: a feed that fails to close is not the command failing.
      await feed.close().catch(() => {});
    });
    process.exit(0);
  },
};
