import { createHash } from "node:crypto";
import type { DroverEnv } from "../config/env.ts";
import { isOpenDroverTask, type BacklogItem } from "../graph/backlog.ts";
import { createBacklog, type CreateBacklogResult } from "../github/backlog-create.ts";
import { classifyGitHubError } from "../github/errors.ts";
import { progress } from "../report/progress.ts";
import { exit } from "./env.ts";
import type { ActingInstallation } from "./installation.ts";
import { assertRedisUsable } from "../queue/redis.ts";
import { noWorkerNote, withOperatorQueue } from "./operator-queue.ts";

/**
 * A command's backlog created on GitHub as the App's installation (`import-jsonl`, `spec`), with progress
 * on stderr; GitHub refusing or failing part-way is one line that keeps what was made and says, in
 * `finish`, how to finish it.
 */
export async function createOrExit(
  acting: ActingInstallation,
  items: readonly BacklogItem[],
  options: { label: string | null; dryRun: boolean; doing: string; finish: string },
): Promise<CreateBacklogResult> {
  const bar = progress(process.stderr, options.doing, items.length);
  let result: CreateBacklogResult;
  try {
    result = await createBacklog(acting.octokit, acting.repo, items, {
      label: options.label,
      under: null,
      dryRun: options.dryRun,
      botLogin: acting.botLogin,
      progress: (note) => bar.tick(1, note),
    });
  } catch (error) {
    bar.end();
    const failure = classifyGitHubError(error);
    exit(
      `${failure?.kind === "refused" ? failure.message : `GitHub failed: ${(error as Error).message}`}; ` +
        `what was made is kept: ${options.finish}`,
    );
  }
  bar.end();
  return result;
}

/**
 * Starting the tasks a command made on GitHub (`drover import-jsonl`, `drover spec`). Drover ignores what
 * its own App does on GitHub, so the labels these commands put on issues start nothing by themselves: each
 * task is started by an operator's `/drover run`, queued where Drover runs and applied by a worker as the
 * App's installation (jobs/control.ts), once per issue however often the command runs.
 */

/**
 * The control job's id that starts a task made by a command: the same for the same issue of the same
 * repository however often it runs, so a task is started once (jobs/control.ts applies an id once).
 */
export function startControlId(repoFullName: string, number: number): string {
  const repo = createHash("sha256").update(repoFullName.toLowerCase()).digest("hex").slice(0, 12);
  return `operator-import-${repo}-${number}`;
}

/**
 * The issue numbers of the open Drover tasks among what was created or found: not epics or stories, not
 * what the backlog says is closed (an export's finished work is history, not work to do again), not plain
 * issues of the graph (`"drover": false`). Pure.
 */
export function taskNumbers(items: readonly BacklogItem[], result: CreateBacklogResult): number[] {
  const taskIds = new Set(items.filter(isOpenDroverTask).map((item) => item.id));
  return result.items.flatMap((outcome) =>
    taskIds.has(outcome.id) && outcome.number !== null ? [outcome.number] : [],
  );
}

/**
 * Queues `/drover run` for each task issue, as the App's bot through the operator's way in. When Redis
 * cannot be reached nothing is queued, and the command says how the tasks start instead.
 */
export async function startTasks(
  env: DroverEnv,
  repoFullName: string,
  botLogin: string,
  numbers: number[],
): Promise<void> {
  if (numbers.length === 0) return;
  try {
    await assertRedisUsable(env.REDIS_URL);
  } catch (error) {
    process.stderr.write(
      `drover: the ${numbers.length} task(s) were not started: Drover's queue is not reachable (${(error as Error).message}). ` +
        "Start them with `/drover run` on each issue, or run this command again where Drover's REDIS_URL answers " +
        "(it creates nothing twice and starts each task once)\n",
    );
    return;
  }
  await withOperatorQueue(env, async (queue, enqueue) => {
    for (const number of numbers)
      await enqueue("control", {
        controlId: startControlId(repoFullName, number),
        repoFullName,
        number,
        command: "/drover run",
        author: { login: botLogin, id: 0 },
        via: "operator",
      });
    process.stderr.write(
      `drover: queued /drover run for ${numbers.length} task(s); Drover's workers start them (a task already started is left as it is)\n`,
    );
    const note = await noWorkerNote(queue, env);
    if (note) process.stderr.write(note);
  });
}
