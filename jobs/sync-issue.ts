import { getIssue, replaceEdges, detachSubIssues, upsertIssue } from "../src/db/graph-rows.ts";
import { requestSchedule } from "../src/scheduler/request.ts";
import { closeDeliveryPending } from "../src/db/deliveries.ts";
import { findTaskByKey, transitionTask, updateTask } from "../src/db/tasks.ts";
import { taskConfig } from "../src/config/stored.ts";
import { parseBodyLinks } from "../src/graph/body-links.ts";
import { statesLeadingTo } from "../src/graph/transitions.ts";
import { issueKey, parseIssueKey, type IssueKey } from "../src/graph/model.ts";
import { readIssueFacts, readIssueLinks, type IssueFacts } from "../src/github/read-issues.ts";
import { repoRef, type Octokit } from "../src/github/types.ts";
import type { JobDeps } from "./deps.ts";

export type SyncTarget = { installationId: number; repoFullName: string; number: number; links: boolean };

/** Blockers read within this long are not read again when another issue names them. */
const FRESH_MS = 60_000;

/**
 * Reads one issue's place in the task graph from GitHub into PostgreSQL: its state and labels, and (for
 * tasks, stories and link changes) its native "blocked by" links, the blockers written in its text, its
 * sub-issues in order, and its parent. The job asks for a scheduling pass after it.
 */
export async function syncIssueJob(deps: JobDeps, target: SyncTarget): Promise<void> {
  await syncIssue(deps, target);
  await requestSchedule(deps);
}

export async function syncIssue(deps: JobDeps, target: SyncTarget): Promise<void> {
  const key = issueKey(target.repoFullName, target.number);
  const task = await findTaskByKey(deps.db, target.repoFullName, target.number);
  const known = task !== undefined || (await getIssue(deps.db, key)) !== undefined;
  // Most issue activity in a repository has nothing to do with Drover: skip it without calling GitHub.
  if (!known && !target.links) return;

  const octokit = await deps.github.installation(target.installationId);
  const read = await readIssueFacts(octokit, repoRef(target.repoFullName), target.number);
  if (!read.ok) {
    await upsertIssue(deps.db, {
      key,
      installationId: target.installationId,
      repoFullName: target.repoFullName,
      number: target.number,
      readable: false,
      unreadableReason: read.reason,
    });
    return;
  }
  const issue = read.issue;
  await recordIssue(deps, target.installationId, issue);

  if (task && issue.state === "closed" && !["done", "cancelled"].includes(task.state)) {
    // The close webhook never came (reconcile found it): finish the task as close-task would have. When it
    // did come and is not processed yet, close-task finishes the task (crediting whoever closed it) and
    // shows it: finishing it here first would lose that credit.
    if (!(await closeDeliveryPending(deps.db, target.repoFullName, target.number))) {
      const done = issue.closedAs !== "not_planned";
      const moved = await transitionTask(
        deps.db,
        task.id,
        statesLeadingTo(done ? "done" : "cancelled").filter((s) => s !== "done" && s !== "cancelled"),
        done ? "done" : "cancelled",
        done
          ? { doneAt: new Date(), stateReason: "issue closed as completed" }
          : { stateReason: "issue closed as not planned" },
        { type: done ? "task.completed" : "task.cancelled" },
      );
      if (moved) await deps.enqueue("announce", { taskId: task.id, at: Date.now() });
    }
  } else if (task) {
    const label = taskConfig(task).label;
    if (task.title !== issue.title) await updateTask(deps.db, task.id, { title: issue.title });
    // The label was taken off a task that has not started: it is no longer wanted. When the webhook saying
    // who took it off is still to be processed, close-task cancels it, crediting them.
    if (
      !issue.labels.includes(label) &&
      ["waiting", "ready"].includes(task.state) &&
      !(await closeDeliveryPending(deps.db, target.repoFullName, target.number, "unlabeled"))
    ) {
      const moved = await transitionTask(
        deps.db,
        task.id,
        ["waiting", "ready"],
        "cancelled",
        {
          stateReason: `the \`${label}\` label was removed`,
        },
        { type: "task.cancelled" },
      );
      // `task` was read before GitHub was: announce only a move that happened.
      if (moved) await deps.enqueue("announce", { taskId: task.id, at: Date.now() });
    }
  }

  if (target.links || task) await syncLinks(deps, octokit, target.installationId, issue);
}

async function syncLinks(
  deps: JobDeps,
  octokit: Octokit,
  installationId: number,
  issue: IssueFacts,
): Promise<void> {
  const links = await readIssueLinks(octokit, repoRef(issue.repoFullName), issue.number);
  const native = links.blockedBy.map((b) => b.key);
  for (const blocker of links.blockedBy) await recordIssue(deps, installationId, blocker);

  const body = parseBodyLinks(issue.body, { repoFullName: issue.repoFullName }).blockers.filter(
    (k) => k !== issue.key,
  );
  for (const blocker of body) await refreshBlocker(deps, octokit, installationId, blocker);

  const children = links.subIssues.map((child) => child.key);
  for (const [order, child] of links.subIssues.entries()) {
    await recordIssue(deps, installationId, child, { parentKey: issue.key, subOrder: order });
  }
  await detachSubIssues(deps.db, issue.key, children);

  await replaceEdges(deps.db, issue.key, "native", native);
  await replaceEdges(deps.db, issue.key, "body", body);
  await replaceEdges(deps.db, issue.key, "sub-issue", children);

  if (links.parent) {
    // The story needs its own links (all its sub-issues, in order) for the parent to wait for them.
    const parent = await getIssue(deps.db, links.parent.key);
    await recordIssue(deps, installationId, links.parent);
    if (!parent?.linksSyncedAt) {
      await deps.enqueue("sync-issue", {
        installationId,
        repoFullName: links.parent.repoFullName,
        number: links.parent.number,
        links: true,
        cause: `parent-of-${issue.key.replace(/[/#]/g, "-")}`,
      });
    }
  }
  await upsertIssue(deps.db, { ...issueRow(installationId, issue), linksSyncedAt: new Date() });
}

/** A blocker named in the text: read it (also in another repository of the installation) unless fresh. */
async function refreshBlocker(
  deps: JobDeps,
  octokit: Octokit,
  installationId: number,
  key: IssueKey,
): Promise<void> {
  const known = await getIssue(deps.db, key);
  if (known && Date.now() - known.syncedAt.getTime() < FRESH_MS) return;
  const ref = parseIssueKey(key);
  if (!ref) return;
  const { repoFullName, number } = ref;
  const read = await readIssueFacts(octokit, repoRef(repoFullName), number);
  if (read.ok) return recordIssue(deps, installationId, read.issue);
  await upsertIssue(deps.db, {
    key,
    installationId,
    repoFullName,
    number,
    readable: false,
    unreadableReason: read.reason,
  });
}

async function recordIssue(
  deps: JobDeps,
  installationId: number,
  issue: IssueFacts,
  extra: { parentKey?: string; subOrder?: number; linksSyncedAt?: Date | null } = {},
): Promise<void> {
  await upsertIssue(deps.db, { ...issueRow(installationId, issue), ...extra });
}

function issueRow(installationId: number, issue: IssueFacts) {
  return {
    key: issue.key,
    installationId,
    repoFullName: issue.repoFullName,
    number: issue.number,
    title: issue.title,
    state: issue.state,
    closedAs: issue.state === "closed" ? issue.closedAs : null,
    labels: issue.labels,
    milestone: issue.milestone,
    readable: true,
    unreadableReason: null,
    githubCreatedAt: issue.createdAt,
  };
}
