import type { DroverConfig } from "../src/config/schema.ts";
import type { Tx } from "../src/db/deliveries.ts";
import { subIssuesOf } from "../src/db/graph-rows.ts";
import { withIssueLock } from "../src/db/issue-lock.ts";
import { findTask, triggerTask, type TriggerResult } from "../src/db/tasks.ts";
import { taskBranch } from "../src/git/branch.ts";
import { addLabels } from "../src/github/labels.ts";
import { readIssueFacts, type IssueFacts } from "../src/github/read-issues.ts";
import { repoRef, type Octokit } from "../src/github/types.ts";
import { issueKey } from "../src/graph/model.ts";
import { ACTIVE } from "../src/graph/transitions.ts";
import type { JobDeps } from "./deps.ts";
import { syncIssue } from "./sync-issue.ts";

/** Starting work on an issue, shared by the label (start-task) and `/drover run` (command). */

/** A person (or a story they started) asking for an issue to be worked on. */
type TriggerRequest = {
  installationId: number;
  repoFullName: string;
  repoId: number;
  octokit: Octokit;
  config: DroverConfig;
  issue: { number: number; title: string; author: { login: string; id: number | null } };
  /** Who asked: the labeller, the commenter, or the person who started the story. */
  by: string;
  cause: "label" | "run" | "story";
  /** What makes it happen once: the webhook delivery, or a command's run record. */
  claim?: { deliveryId: string } | { tx: (tx: Tx) => Promise<boolean> };
  /**
   * How the issue's place in the graph is known: `synced`, the caller has just read its links (a label's
   * start, under the same lock moments before), so nothing is read again; `read`, the caller has just read
   * the issue itself (a story's sub-issue), so only its links are; otherwise both are read.
   */
  known?: { synced: true } | { read: IssueFacts };
  /** The issue carries the Drover label already (the caller made it with the label): none is added. */
  labelled?: true;
};

/**
 * Reads the issue's links (blockers, sub-issues, parent), then records the task as ready. Nothing is said
 * on the issue yet: the scheduling pass that follows decides whether it is ready or waiting (and on what),
 * and its `announce` makes the status comment once, with that state (a restarted task's reason changes,
 * so it is announced too); a task said "ready" here would be edited to "waiting" a moment later. Runs under
 * the issue's lock: a label event and reconcile's copy of it (or the label removed and added again)
 * started together would otherwise each find no task and each make a status comment.
 */
export async function showAndTrigger(deps: JobDeps, request: TriggerRequest): Promise<TriggerResult> {
  return withIssueLock(deps.db, request.repoId, request.issue.number, async () => {
    const { repoId, octokit, config, issue } = request;
    const existing = await findTask(deps.db, repoId, issue.number);
    if (existing && ACTIVE.includes(existing.state)) return { kind: "already-active", task: existing };
    // Started by `/drover run` or a story: the label goes on first (a sync of the issue that finds a task
    // without its label cancels the task). Its own webhook starts nothing: the app added it. An issue made
    // with the label (a plan's task, just created) has it already: no second write.
    if (request.cause !== "label" && !request.labelled)
      await addLabels(octokit, repoRef(request.repoFullName), issue.number, [config.label]);
    if (!request.known || !("synced" in request.known)) {
      await syncIssue(deps, {
        installationId: request.installationId,
        repoFullName: request.repoFullName,
        number: issue.number,
        links: true,
        ...(request.known ? { issue: labelled(request.known.read, config.label) } : {}),
      });
    }
    const branch = existing?.branch ?? taskBranch(issue.number, issue.title);
    return triggerTask(deps.db, {
      repoId,
      issueNumber: issue.number,
      title: issue.title,
      createdBy: issue.author.login,
      createdById: issue.author.id,
      triggeredBy: request.by,
      branch,
      config,
      cause: request.cause,
      ...claimOf(request),
    });
  });
}

/** The issue as read, with the label just added to it (the read came first). */
function labelled(issue: IssueFacts, label: string): IssueFacts {
  return issue.labels.includes(label) ? issue : { ...issue, labels: [...issue.labels, label] };
}

function claimOf(request: TriggerRequest) {
  if (!request.claim) return {};
  return "deliveryId" in request.claim
    ? { deliveryId: request.claim.deliveryId }
    : { claim: request.claim.tx };
}

/**
 * A story was started (its parent issue labelled, or `/drover run` on it): each of its open sub-issues in
 * the same repository, and theirs in turn, becomes a task too, labelled by the app, created by its own
 * author and credited to the person who started the story. Sub-issues that are tasks already are left as
 * they are. The parent's links were read when it was triggered; each sub-issue is read once, here, and
 * its links when it is triggered.
 * Returns the tasks it made.
 */
export async function startStory(
  deps: JobDeps,
  input: Omit<TriggerRequest, "issue" | "cause" | "claim" | "known"> & { parent: number },
): Promise<number> {
  const repo = repoRef(input.repoFullName);
  const seen = new Set<string>();
  const pending = [issueKey(input.repoFullName, input.parent)];
  let made = 0;
  for (let key = pending.shift(); key !== undefined; key = pending.shift()) {
    if (seen.has(key)) continue;
    seen.add(key);
    for (const child of await subIssuesOf(deps.db, key)) {
      if (child.repoFullName.toLowerCase() !== input.repoFullName.toLowerCase()) continue;
      if (child.state !== "open" || seen.has(child.key)) continue;
      pending.push(child.key);
      if (await findTask(deps.db, input.repoId, child.number)) continue;
      const read = await readIssueFacts(input.octokit, repo, child.number);
      if (!read.ok || read.issue.state !== "open" || read.issue.isPullRequest) continue;
      const trigger = await showAndTrigger(deps, {
        ...input,
        issue: { number: child.number, title: read.issue.title, author: read.issue.author },
        cause: "story",
        known: { read: read.issue },
      });
      if (trigger.kind === "created") made += 1;
    }
  }
  return made;
}
