import { withoutCommands } from "../src/graph/commands.ts";
import { taskConfig } from "../src/config/stored.ts";
import { getAttemptByNumber, getStep } from "../src/db/attempts.ts";
import { getDelivery, markDeliveryProcessed, type Delivery } from "../src/db/deliveries.ts";
import { recordHints, type NewHint } from "../src/db/hints.ts";
import { getRepository, type Repository } from "../src/db/repositories.ts";
import { recordApproval, startRework } from "../src/db/reviews.ts";
import { findTaskByPullRequest, getTask, type Task } from "../src/db/tasks.ts";
import { reply } from "../src/github/comments.ts";
import { authorise } from "../src/github/people.ts";
import { reviewComments } from "../src/github/pulls.ts";
import { renderReworkLimit } from "../src/github/render.ts";
import { repoRef, type Octokit } from "../src/github/types.ts";
import { ReviewSubmitted } from "../src/intake/payloads.ts";
import { PermanentJobError } from "../src/queue/queue.ts";
import { requestSchedule } from "../src/scheduler/request.ts";
import type { JobDeps } from "./deps.ts";
import { AUTO_MERGE, mergeByDrover } from "./publish.ts";
import { showTask } from "./show-task.ts";

/** What the review job works on: the review, its task, and the installation's client. */
type Reviewed = {
  delivery: Delivery;
  event: ReviewSubmitted;
  task: Task;
  repository: Repository;
  octokit: Octokit;
};

/**
 * A review of a Drover pull request. "Changes requested" by a person with write access starts a rework
 * round (the review's body and inline comments recorded as hints, the task made ready to start on top of
 * the pull request's head) while the task is in review and below `max_reworks`; past it Drover says it
 * stops. An approval by a writer is recorded. A comment-only review changes nothing here (its `/drover`
 * commands, if any, are the command job's). Reviews by anyone else are ignored: reviews are common, and
 * answering each would be noise.
 */
export async function reviewJob(deps: JobDeps, payload: { deliveryId: string }): Promise<void> {
  const delivery = await getDelivery(deps.db, payload.deliveryId);
  if (!delivery) throw new PermanentJobError(`delivery ${payload.deliveryId} is not recorded`);
  if (delivery.processedAt) return;
  const event = ReviewSubmitted.parse(delivery.payload);
  const state = event.review.state;
  if (state !== "changes_requested" && state !== "approved")
    return markDeliveryProcessed(deps.db, delivery.id, `review ${state}: nothing to do`);

  const task = await findTaskByPullRequest(deps.db, event.repository.id, {
    number: event.pull_request.number,
    headRef: event.pull_request.head.ref,
  });
  if (!task) return markDeliveryProcessed(deps.db, delivery.id, "no task");
  const repository = await getRepository(deps.db, task.repoId);
  if (!repository) throw new PermanentJobError(`repository ${task.repoId} is not recorded`);
  const octokit = await deps.github.installation(repository.installationId);
  const log = deps.log.child({ deliveryId: delivery.id, taskId: task.id, reviewId: event.review.id });

  if (!delivery.appliedAt) {
    const access = await authorise(octokit, repoRef(repository.fullName), event.review.user);
    if (!access.allowed) {
      log.info(
        { reviewer: event.review.user.login, permission: access.permission },
        "review ignored: not a writer",
      );
      return markDeliveryProcessed(deps.db, delivery.id, "reviewer cannot write");
    }
  }
  const reviewed = { delivery, event, task, repository, octokit };
  if (state === "approved") return approve(deps, reviewed);
  return rework(deps, reviewed, log);
}

/** An approval: who and when. Where Drover merges itself (auto-merge refused), the approval may let it. */
async function approve(deps: JobDeps, reviewed: Reviewed): Promise<void> {
  const { delivery, event, task } = reviewed;
  if (!delivery.appliedAt) {
    await recordApproval(deps.db, {
      taskId: task.id,
      deliveryId: delivery.id,
      by: event.review.user.login,
      at: event.review.submitted_at ? new Date(event.review.submitted_at) : new Date(),
      reviewId: event.review.id,
      prNumber: event.pull_request.number,
    });
  }
  await mergeIfWaiting(deps, reviewed);
  await markDeliveryProcessed(deps.db, delivery.id, "approved");
}

/**
 * With `auto_merge`, where GitHub refused its own auto-merge and Drover's merge waited for a review that
 * asked for changes, this approval may be what it waited for.
 */
async function mergeIfWaiting(deps: JobDeps, reviewed: Reviewed): Promise<void> {
  const { task, repository, octokit } = reviewed;
  const now = await getTask(deps.db, task.id);
  if (!now || now.state !== "review" || !taskConfig(now).auto_merge) return;
  const attempt = await getAttemptByNumber(deps.db, now.id, now.attemptCount);
  if (!attempt?.headSha) return;
  const step = await getStep(deps.db, attempt.id, AUTO_MERGE.name, AUTO_MERGE.schema);
  if (step?.outcome !== "waiting") return;
  await mergeByDrover(deps, {
    task: now,
    attempt,
    repository,
    octokit,
    prNumber: reviewed.event.pull_request.number,
  });
}

/** Changes requested: a rework round, or (past `max_reworks`) a reply saying Drover stops. */
async function rework(deps: JobDeps, reviewed: Reviewed, log: JobDeps["log"]): Promise<void> {
  const { delivery, event, task, repository, octokit } = reviewed;
  const config = taskConfig(task);
  const repo = repoRef(repository.fullName);
  const reviewer = event.review.user.login;
  if (!delivery.appliedAt) {
    if (task.state !== "review") {
      log.info({ state: task.state }, "changes requested on a task not in review: nothing to rework");
      return markDeliveryProcessed(deps.db, delivery.id, `task is ${task.state}`);
    }
    if (task.reworkCount >= config.max_reworks) {
      await reply(
        octokit,
        repo,
        event.pull_request.number,
        renderReworkLimit({ reviewer, reviewUrl: event.review.html_url, maxReworks: config.max_reworks }),
      );
      return markDeliveryProcessed(deps.db, delivery.id, "max reworks reached");
    }
    await recordReview(deps, reviewed);
    const round = task.reworkCount + 1;
    const moved = await startRework(deps.db, {
      taskId: task.id,
      deliveryId: delivery.id,
      maxReworks: config.max_reworks,
      by: reviewer,
      reviewId: event.review.id,
      prNumber: event.pull_request.number,
      reason: `changes requested by @${reviewer} on #${event.pull_request.number}: rework ${round} of ${config.max_reworks}`,
    });
    if (moved.kind === "not-moved")
      return markDeliveryProcessed(deps.db, delivery.id, "task moved meanwhile");
  }
  // The round was started (now, or by an earlier run of this job that stopped before the rest).
  await requestSchedule(deps);
  await showTask(deps, octokit, repo, task.id);
  await markDeliveryProcessed(deps.db, delivery.id, "rework");
}

/** The review's body and each of its inline comments, as the task's hints (each recorded once). */
async function recordReview(deps: JobDeps, reviewed: Reviewed): Promise<void> {
  const { event, task, repository, octokit } = reviewed;
  const { review } = event;
  const inline = await reviewComments(
    octokit,
    repoRef(repository.fullName),
    event.pull_request.number,
    review.id,
  );
  const at = review.submitted_at ? new Date(review.submitted_at) : new Date();
  const rows: NewHint[] = [];
  // `/drover` commands in the body are the command job's (a hint there is recorded as a hint, once).
  const body = withoutCommands(review.body);
  if (body !== "") {
    rows.push({
      taskId: task.id,
      kind: "review",
      author: review.user.login,
      authorId: review.user.id,
      body,
      reviewId: review.id,
      url: review.html_url,
      sourceId: `review:${review.id}`,
      createdAt: at,
    });
  }
  for (const comment of inline) {
    rows.push({
      taskId: task.id,
      kind: "review-comment",
      author: comment.author,
      authorId: comment.authorId,
      body: comment.body,
      path: comment.path,
      line: comment.line,
      diffHunk: comment.diffHunk,
      reviewId: review.id,
      url: comment.url,
      sourceId: `review-comment:${comment.id}`,
      createdAt: comment.createdAt,
    });
  }
  await recordHints(deps.db, rows);
}
