import { taskConfig } from "../src/config/stored.ts";
import { getAttemptByNumber } from "../src/db/attempts.ts";
import { getTask } from "../src/db/tasks.ts";
import { statusViewOf } from "../src/github/render.ts";
import type { Octokit, RepoRef } from "../src/github/types.ts";
import type { JobDeps } from "./deps.ts";
import { showStatus } from "./show-status.ts";

/**
 * Shows the task as it is now on its issue (status comment and state label), with its latest attempt's
 * verdict; returns the status comment's id.
 */
export async function showTask(
  deps: JobDeps,
  octokit: Octokit,
  repo: RepoRef,
  taskId: number,
): Promise<number> {
  const task = await getTask(deps.db, taskId);
  if (!task) throw new Error(`task ${taskId} vanished while it was shown`);
  const attempt = await getAttemptByNumber(deps.db, task.id, task.attemptCount);
  const config = taskConfig(task);
  return showStatus(
    deps.db,
    octokit,
    repo,
    task,
    statusViewOf(task, attempt ?? null, { agent: config.agent, maxAttempts: config.max_attempts }),
  );
}
