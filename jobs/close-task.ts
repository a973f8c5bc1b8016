import { taskConfig } from "../src/config/stored.ts";
import { getDelivery, markDeliveryProcessed } from "../src/db/deliveries.ts";
import { baseBranchOf } from "../src/db/base-pulls.ts";
import { getRepository, type Repository } from "../src/db/repositories.ts";
import { pullBase, stackOf, tasksStackedOn } from "../src/db/stacks.ts";
import { openPullRequestsInto, retargetPullRequest } from "../src/github/pulls.ts";
import type { Octokit } from "../src/github/types.ts";
import type { TaskState } from "../src/db/schema.ts";
import { findTask, findTaskByPullRequest, getTask, transitionTask, type Task } from "../src/db/tasks.ts";
import { repoRef } from "../src/github/types.ts";
import { statesLeadingTo } from "../src/graph/transitions.ts";
import { IssueClosed, IssueUnlabeled, PullRequestClosed } from "../src/intake/payloads.ts";
import { PermanentJobError } from "../src/queue/queue.ts";
import type { JobDeps } from "./deps.ts";
import { requestSchedule } from "../src/scheduler/request.ts";
import { showTask } from "./show-task.ts";

/** `pr`: the pull request whose merge or close this is (its own event beside the task's). */
type Closing = {
  task: Task;
  to: TaskState;
  by: string;
  reason: string;
  pr?: { number: number; merged: boolean };
};

/**
 * An issue was closed, a pull request on a Drover branch was closed, or a label was taken off an issue. A
 * merged PR or an issue closed as completed makes the task done (crediting who did it); closed as not
 * planned, a PR closed without merging, or the task's Drover label removed cancels it. A running agent
 * sees its task move (run-task polls it) and stops. The task's state is then shown on the issue.
 */
export async function closeTask(deps: JobDeps, payload: { deliveryId: string }): Promise<void> {
  const delivery = await getDelivery(deps.db, payload.deliveryId);
  if (!delivery) throw new PermanentJobError(`delivery ${payload.deliveryId} is not recorded`);
  if (delivery.processedAt) return;
  const closing = await whatCloses(deps, delivery.event, delivery.action, delivery.payload);
  if (!closing) return markDeliveryProcessed(deps.db, delivery.id, "nothing to close");

  const { task } = closing;
  // The state change and the delivery's claim are one transaction. An earlier run that made the change
  // and stopped before showing it leaves only the showing to do.
  const moved = delivery.appliedAt
    ? await getTask(deps.db, task.id)
    : await transitionTask(
        deps.db,
        task.id,
        statesLeadingTo(closing.to).filter((s) => s !== closing.to),
        closing.to,
        closing.to === "done"
          ? { completedBy: closing.by, doneAt: new Date(), stateReason: closing.reason }
          : { modifiedBy: closing.by, stateReason: closing.reason },
        {
          by: closing.by,
          ...(closing.pr
            ? { also: closing.pr.merged ? "pr.merged" : "pr.closed", data: { pr: closing.pr.number } }
            : {}),
        },
        delivery.id,
      );
  if (!moved) {
    // The merge's other event (the issue its pull request closes) may have finished the task first, in
    // another worker: what stacks on the merged branch must still move.
    // (The merge's `pr.merged` event was written with the delivery's claim all the same.)
    const now = await getTask(deps.db, task.id);
    if (closing.pr?.merged && now?.state === "done") await retargetStacked(deps, now);
    return markDeliveryProcessed(deps.db, delivery.id, `already ${now?.state ?? task.state}`);
  }

  const { repository, octokit } = await installationOf(deps, moved);
  if (closing.pr?.merged) await retargetStacked(deps, moved, { repository, octokit });
  // The latest attempt keeps its verdict on the comment and says who started it (`modifiedBy` is now the closer).
  await showTask(deps, octokit, repoRef(repository.fullName), moved.id);
  await requestSchedule(deps);
  await markDeliveryProcessed(deps.db, delivery.id, closing.to);
}

/**
 * Stacked work: the open pull requests stacked on the merged task's branch now go into the branch it
 * merged into, and are followed there as any other. GitHub does it itself when the merged branch is
 * deleted: only those still into it are moved (one read, and one write each; none when nothing stacks).
 */
async function retargetStacked(
  deps: JobDeps,
  merged: Task,
  known?: { repository: Repository; octokit: Octokit },
): Promise<void> {
  const stacked = await tasksStackedOn(deps.db, merged.id);
  if (stacked.length === 0) return;
  const { repository, octokit } = known ?? (await installationOf(deps, merged));
  const repo = repoRef(repository.fullName);
  const into = new Set(await openPullRequestsInto(octokit, repo, merged.branch));
  const base = pullBase(await stackOf(deps.db, merged.id), baseBranchOf(merged, repository.defaultBranch));
  for (const task of stacked) {
    if (!into.has(task.prNumber)) continue;
    const result = await retargetPullRequest(octokit, repo, task.prNumber, base);
    const fields = { taskId: task.id, pr: task.prNumber, from: merged.branch, base };
    if (result.kind === "retargeted") deps.log.info(fields, "stacked pull request retargeted");
    else deps.log.warn({ ...fields, reason: result.reason }, "stacked pull request not retargeted");
  }
}

async function installationOf(
  deps: JobDeps,
  task: Task,
): Promise<{ repository: Repository; octokit: Octokit }> {
  const repository = await getRepository(deps.db, task.repoId);
  if (!repository) throw new PermanentJobError(`repository ${task.repoId} is not recorded`);
  return { repository, octokit: await deps.github.installation(repository.installationId) };
}

async function whatCloses(
  deps: JobDeps,
  event: string,
  action: string | null,
  payload: unknown,
): Promise<Closing | undefined> {
  if (event === "pull_request") {
    const p = PullRequestClosed.parse(payload);
    const task = await findTaskByPullRequest(deps.db, p.repository.id, {
      number: p.pull_request.number,
      headRef: p.pull_request.head.ref,
    });
    if (!task) return undefined;
    const n = p.pull_request.number;
    return p.pull_request.merged
      ? {
          task,
          to: "done",
          by: p.pull_request.merged_by?.login ?? p.sender.login,
          reason: `pull request #${n} merged`,
          pr: { number: n, merged: true },
        }
      : {
          task,
          to: "cancelled",
          by: p.sender.login,
          reason: `pull request #${n} was closed without merging; add the label again to retry`,
          pr: { number: n, merged: false },
        };
  }
  if (action === "unlabeled") {
    const p = IssueUnlabeled.parse(payload);
    const task = await findTask(deps.db, p.repository.id, p.issue.number);
    // Only the label that started it stops it, and a finished task stays finished.
    if (!task || task.state === "done" || p.label.name !== taskConfig(task).label) return undefined;
    return {
      task,
      to: "cancelled",
      by: p.sender.login,
      reason: `the \`${p.label.name}\` label was removed by @${p.sender.login}`,
    };
  }
  const p = IssueClosed.parse(payload);
  const task = await findTask(deps.db, p.repository.id, p.issue.number);
  if (!task) return undefined;
  return p.issue.state_reason === "not_planned"
    ? {
        task,
        to: "cancelled",
        by: p.sender.login,
        reason: "issue closed as not planned",
      }
    : { task, to: "done", by: p.sender.login, reason: "issue closed as completed" };
}
