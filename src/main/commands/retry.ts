import os from "node:os";
import type { StuckTask } from "../../db/tasks.ts";
import type { JobPayload } from "../../queue/job-catalog.ts";
import { environment, exit } from "../env.ts";
import type { CliCommand } from "../command.ts";
import { readFlags, repoFlag, withOperatorDatabase } from "../command.ts";

const SYNOPSIS = "drover retry --delivery ID | --job ID | --failed --repo owner/name [--dry-run]";

export type RetryTarget =
  | { kind: "parked"; target: { deliveryId: string } | { jobId: string } }
  | { kind: "failed"; repoFullName: string; dryRun: boolean };

/** What `retry` is asked to do: parked work (one delivery's, or one job), or every failed task of a repository. */
export function retryTarget(args: string[]): RetryTarget {
  const { values } = readFlags("retry", SYNOPSIS, {
    args,
    options: {
      delivery: { type: "string" },
      job: { type: "string" },
      failed: { type: "boolean", default: false },
      repo: { type: "string" },
      "dry-run": { type: "boolean", default: false },
    },
  });
  const modes = [values.delivery !== undefined, values.job !== undefined, values.failed].filter(Boolean);
  if (modes.length !== 1)
    exit(`retry needs one of --delivery ID or --job ID or --failed; usage: ${SYNOPSIS}`);
  if (values.failed) {
    const repo = repoFlag(values.repo, SYNOPSIS);
    if (repo === undefined) exit(`retry --failed needs --repo owner/name; usage: ${SYNOPSIS}`);
    return { kind: "failed", repoFullName: repo, dryRun: values["dry-run"] };
  }
  if (values.repo !== undefined || values["dry-run"])
    exit(`--repo and --dry-run go with --failed (parked work is named by its id); usage: ${SYNOPSIS}`);
  return {
    kind: "parked",
    target: values.delivery !== undefined ? { deliveryId: values.delivery } : { jobId: values.job ?? "" },
  };
}

/**
 * The control that retries `task`: `/drover retry`, by the App, once per failure. Its id holds the event
 * that made the task fail, so running the command twice queues one retry, and a task that failed again
 * after it gets another (before events were recorded, the attempt count stands in). Pure.
 */
export function retryControl(
  repoFullName: string,
  task: StuckTask,
  requestedBy: string,
): JobPayload<"control"> {
  const failure = task.since === null ? `a${task.attempts}` : `e${task.since}`;
  return {
    controlId: `operator-retry-${task.taskId}-${failure}`,
    repoFullName,
    number: task.number,
    command: "/drover retry",
    author: { login: requestedBy, id: 0 },
    via: "operator",
  };
}

export const retry: CliCommand = {
  name: "retry",
  usage: `  retry --delivery ID | --job ID      run parked work again after a fix: the delivery's parked jobs,
                                      or one parked job (ids as \`drover status\` shows them)
  retry --failed --repo owner/name [--dry-run]
                                      start every failed task of the repository again, as
                                      \`/drover retry\` by the App; --dry-run lists them, changing nothing
`,
  help: `Usage: drover retry --delivery ID | --job ID
       drover retry --failed --repo owner/name [--dry-run]

Two kinds of retry:

--delivery, --job: work parked after failing for good (a job that used up its tries: a webhook's
  processing, a sync) runs again, after the cause is fixed. \`drover status\` lists what is parked, with the
  command for each.

--failed: every task of the repository in state \`failed\` (its attempts used up) starts again, as if a
  writer had commented \`/drover retry\` on each issue: from its branch, with the hints it has. The command
  queues one control per task, which Drover's workers apply as the App (the task is credited to the App's
  bot; nothing is asked of GitHub here), then shows each on its issue. Running it twice queues each retry
  once; a task that failed again since is retried again. Tasks in \`blocked\` are left alone (and counted):
  the agent said it needs a person, and the same attempt would end the same way; give a hint with
  \`/drover hint\` (which can restart it) or retry one on its issue. Needs PostgreSQL and Redis, where
  Drover runs.

Options:
  --delivery ID        a webhook delivery's parked jobs
  --job ID             one parked job
  --failed             every failed task of --repo
  --repo owner/name    the repository, with --failed (required there)
  --dry-run            with --failed: list the tasks it would retry (issue, title, attempts, last
                       verdict, why it failed) and change nothing (default: off)

Exit codes:
  0  queued (or listed, with --dry-run; no failed task is not an error)
  1  a bad option, nothing parked under that id, a repository Drover has no record of, or PostgreSQL or
     Redis did not answer

Examples:
  drover retry --failed --repo octo/widgets --dry-run
  drover retry --failed --repo octo/widgets
  drover retry --delivery 8d1f3a40-5c2e-11f0-9b1a-1c2f0e0a0b0c
`,
  async run(args) {
    const target = retryTarget(args);
    const env = environment();
    const { findRepository } = await import("../../db/repositories.ts");
    const { tasksInState } = await import("../../db/tasks.ts");
    const { withOperatorQueue, noWorkerNote } = await import("../operator-queue.ts");
    const { assertRedisUsable } = await import("../../queue/redis.ts");
    const { renderRetry } = await import("../../report/dead-letters.ts");
    const { renderRetryPlan, renderRetryQueued } = await import("../../report/bulk-retry.ts");
    const { progress } = await import("../../report/progress.ts");
    const { retryDeadLetters } = await import("../../scheduler/retry-dead-letters.ts");
    // Redis is checked, and the queue opened, only where something will be queued: a dry run reads
    // PostgreSQL alone, so it works while Redis is down.
    const redisOrExit = () =>
      assertRedisUsable(env.REDIS_URL).catch((error: unknown) => exit((error as Error).message));
    await withOperatorDatabase(env, async (database) => {
      if (target.kind === "parked") {
        await redisOrExit();
        await withOperatorQueue(env, async (queue) => {
          const { text, ok } = renderRetry(await retryDeadLetters({ db: database.db, queue }, target.target));
          (ok ? process.stdout : process.stderr).write(ok ? text : `drover: ${text}`);
          process.exitCode = ok ? 0 : 1;
        });
        return;
      }
      const { dryRun } = target;
      const repository = await findRepository(database.db, target.repoFullName);
      if (!repository)
        exit(
          `Drover has no record of ${target.repoFullName}: check the name, and that the App is installed there`,
        );
      const repoFullName = repository.fullName;
      const failed = await tasksInState(database.db, repoFullName, "failed");
      const blocked = await tasksInState(database.db, repoFullName, "blocked");
      process.stdout.write(renderRetryPlan({ repoFullName, failed, blocked: blocked.length, dryRun }));
      if (dryRun || failed.length === 0) return;
      await redisOrExit();
      await withOperatorQueue(env, async (queue, enqueue) => {
        const requestedBy = operatorName();
        const bar = progress(process.stderr, "queueing retries", failed.length);
        for (const task of failed) {
          await enqueue("control", retryControl(repoFullName, task, requestedBy));
          bar.tick(1, `#${task.number}`);
        }
        bar.end();
        process.stdout.write(renderRetryQueued(repoFullName, failed));
        const note = await noWorkerNote(queue, env);
        if (note) process.stderr.write(note);
      });
    });
  },
};

/** Who ran the command, for the workers' log: the machine's user name, or "operator" where there is none. */
function operatorName(): string {
  try {
    return os.userInfo().username || "operator";
  } catch {
    return "operator";
  }
}
