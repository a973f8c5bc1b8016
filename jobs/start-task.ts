import { loadRepoConfig } from "../src/config/load.ts";
import { CONFIG_PATH, type DroverConfig } from "../src/config/schema.ts";
import { getDelivery, markDeliveryProcessed } from "../src/db/deliveries.ts";
import { withIssueLock } from "../src/db/issue-lock.ts";
import { upsertRepository } from "../src/db/repositories.ts";
import { findTask, triggerReason, triggerTask, type TriggerResult } from "../src/db/tasks.ts";
import { taskBranch } from "../src/git/branch.ts";
import { reply } from "../src/github/comments.ts";
import { authorise } from "../src/github/people.ts";
import { renderConfigProblems, renderRefusal, statusViewOf } from "../src/github/render.ts";
import { publishStatus } from "../src/github/issue-status.ts";
import { repoRef, type Octokit } from "../src/github/types.ts";
import { ACTIVE } from "../src/graph/transitions.ts";
import { IssueLabeled } from "../src/intake/payloads.ts";
import { PermanentJobError } from "../src/queue/queue.ts";
import type { JobDeps } from "./deps.ts";
import { requestSchedule } from "../src/scheduler/request.ts";
import { syncIssue } from "./sync-issue.ts";

/**
 * A label was added to an issue. If it is the repository's Drover label and the person who added it may
 * start work, the issue becomes a ready task, says so on the issue, and is scheduled.
 */
export async function startTask(deps: JobDeps, payload: { deliveryId: string }): Promise<void> {
  const delivery = await getDelivery(deps.db, payload.deliveryId);
  if (!delivery) throw new PermanentJobError(`delivery ${payload.deliveryId} is not recorded`);
  if (delivery.processedAt) return;
  const event = IssueLabeled.parse(delivery.payload);
  const done = (outcome: string) => markDeliveryProcessed(deps.db, delivery.id, outcome);
  if (delivery.appliedAt) {
    // An earlier run recorded the task and stopped before it finished: only what follows is left.
    await requestSchedule(deps);
    return done("applied before");
  }
  const log = deps.log.child({
    deliveryId: delivery.id,
    repo: event.repository.full_name,
    issue: event.issue.number,
  });

  // 1. Which label starts Drover here, and is the config sound?
  const repo = repoRef(event.repository.full_name);
  const octokit = await deps.github.installation(event.installation.id);
  const config = await loadRepoConfig(octokit, repo);
  const label = config.ok ? config.config.label : config.label;
  if (event.label.name !== label) return done("not the drover label");
  if (event.issue.state !== "open") return done("issue is closed");

  // 2. Only people with write access start work; bots never do.
  const access = await authorise(octokit, repo, event.sender);
  if (!access.allowed) {
    log.info({ sender: event.sender.login, reason: access.reason }, "start refused");
    await reply(
      octokit,
      repo,
      event.issue.number,
      renderRefusal({ login: event.sender.login, label, ...access }),
    );
    return done(`refused: ${access.reason}`);
  }
  if (!config.ok) {
    log.info({ problems: config.problems.length }, "start refused: invalid config");
    await reply(octokit, repo, event.issue.number, renderConfigProblems(config.problems, CONFIG_PATH));
    return done("refused: invalid config");
  }

  // 3. Record it and say so, one job per issue at a time.
  const repository = await upsertRepository(deps.db, {
    id: event.repository.id,
    installationId: event.installation.id,
    fullName: event.repository.full_name,
    cloneUrl: event.repository.clone_url,
    defaultBranch: event.repository.default_branch,
  });
  const trigger = await withIssueLock(deps.db, repository.id, event.issue.number, () =>
    showAndTrigger(deps, {
      event,
      repoId: repository.id,
      octokit,
      config: config.config,
      deliveryId: delivery.id,
    }),
  );
  // The same delivery run twice at once: the other run applied it.
  if (trigger.kind === "applied-before") return;
  // Already in progress (started by another delivery, perhaps at this very moment): its status stands.
  if (trigger.kind === "already-active") return done(`already ${trigger.task.state}`);
  await requestSchedule(deps);
  log.info({ taskId: trigger.task.id, kind: trigger.kind }, "task started");
  await done(trigger.kind);
}

/**
 * Reads the issue's links (blockers, sub-issues, parent), says on the issue that it is ready, then records
 * the task as ready with that status comment. In this order no scheduling pass can queue the task (and
 * run-task or announce show it) before this status is up: nothing later is overwritten by it. Run under the
 * issue's lock: a label event and reconcile's copy of it (or the label removed and added again) started
 * together would otherwise each find no task and each make a status comment.
 */
async function showAndTrigger(
  deps: JobDeps,
  input: { event: IssueLabeled; repoId: number; octokit: Octokit; config: DroverConfig; deliveryId: string },
): Promise<TriggerResult> {
  const { event, repoId, octokit, config } = input;
  const existing = await findTask(deps.db, repoId, event.issue.number);
  if (existing && ACTIVE.includes(existing.state)) return { kind: "already-active", task: existing };
  await syncIssue(deps, {
    installationId: event.installation.id,
    repoFullName: event.repository.full_name,
    number: event.issue.number,
    links: true,
  });
  const branch = taskBranch(event.issue.number, event.issue.title);
  const commentId = await publishStatus(
    octokit,
    repoRef(event.repository.full_name),
    event.issue.number,
    statusViewOf(
      {
        state: "ready",
        branch,
        modifiedBy: event.sender.login,
        attemptCount: existing?.attemptCount ?? 0,
        stateReason: triggerReason(existing !== undefined, event.sender.login),
        prNumber: existing?.prNumber ?? null,
        completedBy: null,
        cycle: existing?.cycle ?? null,
      },
      null,
      { agent: config.agent },
    ),
    existing?.statusCommentId ?? null,
  );
  return triggerTask(deps.db, {
    repoId,
    issueNumber: event.issue.number,
    title: event.issue.title,
    createdBy: event.issue.user.login,
    createdById: event.issue.user.id,
    triggeredBy: event.sender.login,
    branch,
    config,
    statusCommentId: commentId,
    deliveryId: input.deliveryId,
  });
}
