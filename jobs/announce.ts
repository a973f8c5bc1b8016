import { taskConfig } from "../src/config/stored.ts";
import { getAttemptByNumber } from "../src/db/attempts.ts";
import { getRepository } from "../src/db/repositories.ts";
import { getIssue, subIssuesOf } from "../src/db/graph-rows.ts";
import { findTaskByKey, getTask, type Task } from "../src/db/tasks.ts";
import { issueKey } from "../src/graph/model.ts";
import { publishStory } from "../src/github/issue-status.ts";
import {
  renderStatus,
  renderStory,
  statusViewOf,
  type StatusView,
  type StoryItem,
} from "../src/github/render.ts";
import { repoRef, type Octokit } from "../src/github/types.ts";
import type { JobDeps } from "./deps.ts";
import { showStatus } from "./show-status.ts";

/** Rounds of "publish, then check nothing moved meanwhile" before leaving it to the next announcement. */
const ROUNDS = 3;

/**
 * Shows a task as PostgreSQL has it now: status comment and labels (state, cycle). Other jobs may change
 * the task while this one writes, so it publishes again until what it showed is still current.
 */
export async function announce(deps: JobDeps, payload: { taskId: number }): Promise<void> {
  for (let round = 0; round < ROUNDS; round++) {
    const task = await getTask(deps.db, payload.taskId);
    if (!task) return;
    const repository = await getRepository(deps.db, task.repoId);
    if (!repository) return;
    const view = await viewOf(deps, task);
    const octokit = await deps.github.installation(repository.installationId);
    await showStatus(deps.db, octokit, repoRef(repository.fullName), task, view);
    // Anything the comment or labels show may have moved meanwhile (state, reason, cycle, and also the pull
    // request or the verdict that publish records): compare all of it.
    const now = await getTask(deps.db, task.id);
    if (!now || renderStatus(await viewOf(deps, now)) === renderStatus(view)) {
      const issue = await getIssue(deps.db, issueKey(repository.fullName, task.issueNumber));
      if (issue?.parentKey) await announceStory(deps, octokit, issue.parentKey);
      return;
    }
  }
}

async function viewOf(deps: JobDeps, task: Task): Promise<StatusView> {
  const attempt =
    task.attemptCount > 0 ? await getAttemptByNumber(deps.db, task.id, task.attemptCount) : undefined;
  const config = taskConfig(task);
  return statusViewOf(task, attempt ?? null, { agent: config.agent, maxAttempts: config.max_attempts });
}

/** The story checklist on a parent issue, edited in place: each sub-issue with its state. */
async function announceStory(deps: JobDeps, octokit: Octokit, parentKey: string): Promise<void> {
  const parent = await getIssue(deps.db, parentKey);
  if (!parent?.readable) return;
  const items: StoryItem[] = [];
  for (const child of await subIssuesOf(deps.db, parentKey)) {
    const task = await findTaskByKey(deps.db, child.repoFullName, child.number);
    const closed = child.state === "closed";
    items.push({
      number: child.number,
      title: child.title,
      state: task?.state ?? (closed ? (child.closedAs === "not_planned" ? "not planned" : "closed") : "open"),
      done: task ? task.state === "done" : closed && child.closedAs !== "not_planned",
      isTask: task !== undefined,
    });
  }
  if (items.length === 0) return;
  await publishStory(deps.db, octokit, parent, renderStory(items));
}
