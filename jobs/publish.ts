import { z } from "zod";
import type { DroverConfig } from "../src/config/schema.ts";
import { taskConfig } from "../src/config/stored.ts";
import { readStart } from "../src/db/attempt-start.ts";
import { getAttempt, getStep, hasStep, PUBLISHED, recordStep } from "../src/db/attempts.ts";
import { recordEvent } from "../src/db/events.ts";
import type { Attempt } from "../src/db/attempt-record.ts";
import { creditedPeople, hintsOf } from "../src/db/hints.ts";
import { failpoint } from "../src/lib/failpoint.ts";
import { withIssueLock } from "../src/db/issue-lock.ts";
import { baseMovedSince } from "../src/db/base-pulls.ts";
import { getRepository, type Repository } from "../src/db/repositories.ts";
import { pullBase, stackOf } from "../src/db/stacks.ts";
import { getTask, updateTask, type Task } from "../src/db/tasks.ts";
import { enableAutoMerge, mergeIfReady, type MergeMethod } from "../src/github/auto-merge.ts";
import { requireAction } from "../src/github/checks.ts";
import { createCheckRun, type CheckConclusion } from "../src/github/checks.ts";
import { reply } from "../src/github/comments.ts";
import { webUrlOf } from "../src/github/discussion.ts";
import { addLabels } from "../src/github/labels.ts";
import { openOrUpdatePullRequest, stackedNote } from "../src/github/pulls.ts";
import {
  renderCheckSummary,
  renderPullRequestBody,
  renderReviewAnswer,
  runFactsOf,
  statusViewOf,
} from "../src/github/render.ts";
import { repoRef, type Octokit, type RepoRef } from "../src/github/types.ts";
import { annotate, traced } from "../src/lib/trace.ts";
import { PermanentJobError } from "../src/queue/queue.ts";
import type { JobDeps } from "./deps.ts";
import { STEPS } from "./run-task/run.ts";
import { showStatus } from "./show-status.ts";

/**
 * Shows a finished attempt on GitHub: the pull request that closes the issue (opened, or updated with the
 * new commits of a rework), drover.yml `default_labels` on it, the `Drover` check run (when the attempt
 * pushed a passing result), auto-merge, then the status comment and the state label, and for a rework the
 * answer to the review that asked for it. A merge with the base left in conflict marks the pull request's
 * head `action_required` instead. Each GitHub object is recorded as a step and never made twice
 * when this job runs again.
 */
export async function publish(deps: JobDeps, payload: { attemptId: number }): Promise<void> {
  const attempt = await getAttempt(deps.db, payload.attemptId);
  const task = attempt && (await getTask(deps.db, attempt.taskId));
  if (attempt) annotate({ "drover.task_id": attempt.taskId, "drover.attempt": attempt.number });
  // One publisher per issue at a time: the same job delivered twice (a stalled job run again beside the
  // original) would otherwise both find no pull request step and both make one.
  if (task) return withIssueLock(deps.db, task.repoId, task.issueNumber, () => publishAttempt(deps, payload));
  return publishAttempt(deps, payload);
}

/** How long after publishing a pull request whose base moved meanwhile Drover reads it again. */
const FOLLOW_AFTER_MS = 5_000;

/** The steps publish records (besides `published`): the pull request it made, and the check run. */
const PULL_REQUEST = {
  name: "pull-request",
  schema: z.object({
    number: z.number().int(),
    url: z.string(),
    /** Made by this attempt (not an open one it updated): default labels go on a pull request once. */
    created: z.boolean().exactOptional(),
    nodeId: z.string().exactOptional(),
    autoMerge: z.boolean().exactOptional(),
  }),
};
const CHECK_RUN = "check-run";
const LABELS = "pull-request-labels";
const REVIEW_ANSWER = "review-answer";
/**
 * drover.yml `auto_merge` for this attempt's head: GitHub's auto-merge turned on (`enabled`), merged by
 * Drover (`merged`), or Drover's merge waiting for a review or refused by GitHub.
 */
export const AUTO_MERGE = {
  name: "auto-merge",
  schema: z.object({
    outcome: z.enum(["enabled", "merged", "waiting", "refused"]),
    reason: z.string().exactOptional(),
  }),
};
/** How Drover merges (GitHub's auto-merge and its own): a merge commit keeps each reviewed commit. */
const MERGE_METHOD: MergeMethod = "MERGE";

/** publish, under the issue's lock: it reads the attempt and the task again, as they are now. */
async function publishAttempt(deps: JobDeps, payload: { attemptId: number }): Promise<void> {
  const attempt = await getAttempt(deps.db, payload.attemptId);
  if (!attempt || attempt.state !== "finished") {
    throw new PermanentJobError(`attempt ${payload.attemptId} is not finished; nothing to publish`);
  }
  const task = await getTask(deps.db, attempt.taskId);
  const repository = task && (await getRepository(deps.db, task.repoId));
  if (!task || !repository) throw new PermanentJobError(`task of attempt ${attempt.id} is not recorded`);
  const config = taskConfig(task);
  const repo = repoRef(repository.fullName);
  const octokit = await deps.github.installation(repository.installationId);
  // A later attempt supersedes this one: only the latest attempt speaks for the task.
  const latest = task.attemptCount === attempt.number;

  let prNumber = task.prNumber;
  if (latest && attempt.headSha && task.state === "review") {
    // 1. The pull request (a rework's commits are on the same branch, so on the same pull request).
    const pr = await pullRequestOf(deps, { attempt, task, repository, config, octokit });
    prNumber = pr.number;

    // 2. drover.yml `default_labels`, on a pull request this attempt opened.
    if (pr.created && config.default_labels.length > 0 && !(await hasStep(deps.db, attempt.id, LABELS))) {
      await addLabels(octokit, repo, pr.number, config.default_labels);
      await recordStep(deps.db, attempt.id, LABELS, { labels: config.default_labels });
    }

    // 3. The check run on the pushed commit.
    if (!(await hasStep(deps.db, attempt.id, CHECK_RUN))) {
      const id = await createCheckRun(octokit, repo, {
        headSha: attempt.headSha,
        conclusion: (attempt.conclusion ?? "neutral") as CheckConclusion,
        title: attempt.reason ?? "Drover",
        summary: renderCheckSummary({
          reason: attempt.reason ?? "",
          summary: attempt.summary ?? "",
          durationMs: attempt.durationMs,
          diffStat: attempt.diffStat,
          logTail: attempt.logTail,
          ...runFactsOf(attempt),
        }),
      });
      failpoint("after-check-run", repository.fullName);
      await recordStep(deps.db, attempt.id, CHECK_RUN, { id });
    }

    // 4. drover.yml `auto_merge`.
    if (config.auto_merge && attempt.conclusion === "success")
      await autoMerge(deps, { task, attempt, repository, octokit, pr });
  }

  // 3b. A merge with the base left in conflict: the pull request's head asks for a person.
  if (latest && task.state === "conflict" && attempt.conclusion === "action_required")
    await markConflict(deps, { attempt, repository, octokit });

  // 5. The status comment and label.
  if (latest) await showCurrentStatus(deps, { attempt, prNumber, config, octokit, repo });
  // 6. A rework answers the review that asked for it, whatever came of it.
  await answerReview(deps, { attempt, octokit, repo, repository });
  // Last: until this is recorded, the watchdog queues this job again (it may have been lost).
  await recordStep(deps.db, attempt.id, PUBLISHED, {});
}

type PullRequestStep = z.infer<typeof PULL_REQUEST.schema>;

/**
 * The check run on the head a merge attempt started from (its pull request's head, which it did not
 * move), `action_required`, saying which files still conflict: never "success" on a pull request that
 * cannot merge. Recorded as the attempt's check run.
 */
async function markConflict(
  deps: JobDeps,
  run: { attempt: Attempt; repository: Repository; octokit: Octokit },
): Promise<void> {
  const { attempt, repository, octokit } = run;
  if (await hasStep(deps.db, attempt.id, CHECK_RUN)) return;
  const merge = await getStep(deps.db, attempt.id, STEPS.merge.name, STEPS.merge.schema);
  if (!merge) return;
  const id = await requireAction(octokit, repoRef(repository.fullName), {
    headSha: merge.ours,
    title: `Conflicts with ${merge.base}`,
    summary: renderCheckSummary({
      reason: attempt.reason ?? "",
      summary: attempt.summary ?? "",
      durationMs: attempt.durationMs,
      diffStat: null,
      logTail: attempt.logTail,
      ...runFactsOf(attempt),
    }),
  });
  await recordStep(deps.db, attempt.id, CHECK_RUN, { id });
}

/** The attempt's pull request: recorded, or opened (or the open one updated) and recorded now. */
async function pullRequestOf(
  deps: JobDeps,
  run: { attempt: Attempt; task: Task; repository: Repository; config: DroverConfig; octokit: Octokit },
): Promise<PullRequestStep> {
  const { attempt, task, repository, config, octokit } = run;
  const recorded = await getStep(deps.db, attempt.id, PULL_REQUEST.name, PULL_REQUEST.schema);
  if (recorded) return recorded;
  if (readStart(attempt.start)?.merge && task.prNumber !== null) {
    // A merge of the base adds a commit to the open pull request: its title and body stand.
    const step: PullRequestStep = {
      number: task.prNumber,
      url: `${webUrlOf(octokit)}/${repository.fullName}/pull/${task.prNumber}`,
    };
    await recordStep(deps.db, attempt.id, PULL_REQUEST.name, step);
    return step;
  }
  const hints = await hintsOf(deps.db, task.id);
  const coAuthors = creditedPeople({ login: task.createdBy, id: task.createdById }, hints).map(
    (p) => p.login,
  );
  // Stacked (drover.yml `stack: true`): into its blocker's branch while that is open, and says so.
  const stack = await stackOf(deps.db, task.id);
  const base = pullBase(stack, config.base_branch ?? repository.defaultBranch);
  const stacked = stack && base === stack.onto.branch ? stackedNote(stack.onto) : "";
  const open = () =>
    openOrUpdatePullRequest(octokit, repoRef(repository.fullName), {
      head: task.branch,
      base,
      title: task.title,
      body: renderPullRequestBody({
        issueNumber: task.issueNumber,
        summary: attempt.summary ?? "",
        reason: attempt.reason ?? "",
        diffStat: attempt.diffStat,
        attempt: attempt.number,
        people: {
          createdBy: task.createdBy,
          steeredBy: task.modifiedBy,
          completedBy: task.completedBy,
          coAuthors,
        },
      }).concat(stacked),
      draft: config.draft_prs,
    });
  const pr = await traced(
    "drover.pull_request",
    { "drover.repo": repository.fullName, "drover.branch": task.branch },
    async () => {
      const opened = await open();
      annotate({ "drover.pr_number": opened.number });
      return opened;
    },
  );
  failpoint("after-pull-request", repository.fullName);
  const step: PullRequestStep = {
    number: pr.number,
    url: pr.url,
    created: pr.created,
    nodeId: pr.nodeId,
    autoMerge: pr.autoMerge,
  };
  await recordStep(deps.db, attempt.id, PULL_REQUEST.name, step);
  await updateTask(deps.db, task.id, { prNumber: pr.number });
  // Its base moved while the agent ran, and that push passed the task by: look at the pull request once
  // GitHub has had a moment to work out whether it still merges.
  if (attempt.startedAt && (await baseMovedSince(deps.db, task.id, attempt.startedAt)))
    await deps.enqueue("follow-pull", { taskId: task.id, at: Date.now() }, { delayMs: FOLLOW_AFTER_MS });
  // A pull request opened is an event by the trigger on `tasks` (its number set above); one updated is not a move.
  if (!pr.created)
    await recordEvent(deps.db, { taskId: task.id, type: "pr.updated", data: { pr: pr.number } });
  return step;
}

/**
 * GitHub's auto-merge, turned on once per pull request (a rework's pull request has it on already); where
 * GitHub refuses it, Drover merges itself when its check passed and no review requests changes.
 */
async function autoMerge(
  deps: JobDeps,
  run: { task: Task; attempt: Attempt; repository: Repository; octokit: Octokit; pr: PullRequestStep },
): Promise<void> {
  const { task, attempt, octokit, pr } = run;
  if (await hasStep(deps.db, attempt.id, AUTO_MERGE.name)) return;
  if (pr.autoMerge) {
    await recordStep(deps.db, attempt.id, AUTO_MERGE.name, { outcome: "enabled" });
    return;
  }
  const enabled = pr.nodeId
    ? await enableAutoMerge(octokit, pr.nodeId, MERGE_METHOD)
    : ({ kind: "refused", reason: "the pull request's node id was not recorded" } as const);
  if (enabled.kind === "enabled") {
    await recordStep(deps.db, attempt.id, AUTO_MERGE.name, { outcome: "enabled" });
    await recordEvent(deps.db, { taskId: task.id, type: "pr.auto-merge", data: { pr: pr.number } });
    return;
  }
  deps.log.info({ taskId: task.id, reason: enabled.reason }, "auto-merge refused by GitHub; Drover merges");
  await mergeByDrover(deps, { ...run, prNumber: pr.number });
}

/**
 * Drover's own merge of the attempt's head (auto-merge unavailable), recorded as the attempt's auto-merge
 * step: `waiting` while a review requests changes (an approval tries again), `merged`, or `refused`.
 */
export async function mergeByDrover(
  deps: Pick<JobDeps, "db" | "log">,
  run: { task: Task; attempt: Attempt; octokit: Octokit; repository: Repository; prNumber: number },
): Promise<void> {
  const { task, attempt, octokit, repository, prNumber } = run;
  if (!attempt.headSha) return;
  const merged = await mergeIfReady(octokit, repoRef(repository.fullName), {
    number: prNumber,
    headSha: attempt.headSha,
    mergeMethod: MERGE_METHOD,
  });
  const step =
    merged.kind === "merged"
      ? { outcome: "merged" as const }
      : merged.kind === "changes-requested"
        ? {
            outcome: "waiting" as const,
            reason: `changes requested by ${merged.by.map((b) => `@${b}`).join(", ")}`,
          }
        : merged.kind === "check-not-passed"
          ? {
              outcome: "refused" as const,
              reason: `its check run concluded ${merged.conclusion ?? "nothing"}`,
            }
          : { outcome: "refused" as const, reason: merged.reason };
  await recordStep(deps.db, attempt.id, AUTO_MERGE.name, step);
  if (merged.kind === "merged")
    await recordEvent(deps.db, {
      taskId: task.id,
      type: "pr.merged-by-drover",
      data: { pr: prNumber, sha: merged.sha },
    });
  else deps.log.info({ taskId: task.id, ...step }, "Drover did not merge");
}

/**
 * A rework attempt answers the "changes requested" review that started it, on its pull request, once:
 * what changed (the agent's summary and the new commits), or that it did not get there.
 */
async function answerReview(
  deps: JobDeps,
  run: { attempt: Attempt; octokit: Octokit; repo: RepoRef; repository: Repository },
): Promise<void> {
  const { attempt, octokit, repo, repository } = run;
  const start = readStart(attempt.start);
  if (start?.cause !== "rework" || !start.prNumber || !start.reviewId) return;
  if (await hasStep(deps.db, attempt.id, REVIEW_ANSWER)) return;
  const task = await getTask(deps.db, attempt.taskId);
  if (!task) return;
  const pushed = attempt.conclusion === "success" && attempt.headSha !== null;
  const body = renderReviewAnswer({
    reviewer: start.by,
    reviewUrl: `${webUrlOf(octokit)}/${repository.fullName}/pull/${start.prNumber}#pullrequestreview-${start.reviewId}`,
    attempt: attempt.number,
    outcome:
      pushed && attempt.headSha
        ? {
            kind: "pushed",
            summary: attempt.summary ?? "",
            baseSha: attempt.baseSha,
            headSha: attempt.headSha,
            diffStat: attempt.diffStat,
          }
        : {
            kind: "failed",
            state: task.state,
            reason: attempt.reason ?? task.stateReason ?? "",
          },
  });
  const id = await reply(octokit, repo, start.prNumber, body);
  await recordStep(deps.db, attempt.id, REVIEW_ANSWER, { commentId: id });
}

/** The status comment and label, from the task's state now (a merge may already have made it done). */
async function showCurrentStatus(
  deps: JobDeps,
  run: {
    attempt: Attempt;
    prNumber: number | null;
    config: DroverConfig;
    octokit: Octokit;
    repo: { owner: string; repo: string };
  },
) {
  const { attempt, prNumber, config, octokit, repo } = run;
  const task = await getTask(deps.db, attempt.taskId);
  if (!task) return;
  await showStatus(
    deps.db,
    octokit,
    repo,
    task,
    statusViewOf({ ...task, prNumber }, attempt, { agent: config.agent, maxAttempts: config.max_attempts }),
  );
}
