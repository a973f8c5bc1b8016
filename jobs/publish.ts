import { z } from "zod";
import type { DroverConfig } from "../src/config/schema.ts";
import { taskConfig } from "../src/config/stored.ts";
import { getAttempt, getStep, hasStep, PUBLISHED, recordEvent, recordStep } from "../src/db/attempts.ts";
import type { Attempt } from "../src/db/attempt-record.ts";
import { failpoint } from "../src/lib/failpoint.ts";
import { withIssueLock } from "../src/db/issue-lock.ts";
import { getRepository } from "../src/db/repositories.ts";
import { getTask, updateTask } from "../src/db/tasks.ts";
import { createCheckRun, type CheckConclusion } from "../src/github/checks.ts";
import { openOrUpdatePullRequest } from "../src/github/pulls.ts";
import { renderCheckSummary, renderPullRequestBody, runFactsOf, statusViewOf } from "../src/github/render.ts";
import { repoRef, type Octokit } from "../src/github/types.ts";
import { PermanentJobError } from "../src/queue/queue.ts";
import type { JobDeps } from "./deps.ts";
import { showStatus } from "./show-status.ts";

/**
 * Shows a finished attempt on GitHub: the pull request that closes the issue and the `Drover` check run
 * (when the attempt pushed a passing result), then the status comment and the state label. Each GitHub
 * object is recorded as a step and never made twice when this job runs again.
 */
export async function publish(deps: JobDeps, payload: { attemptId: number }): Promise<void> {
  const attempt = await getAttempt(deps.db, payload.attemptId);
  const task = attempt && (await getTask(deps.db, attempt.taskId));
  // One publisher per issue at a time: the same job delivered twice (a stalled job run again beside the
  // original) would otherwise both find no pull request step and both make one.
  if (task) return withIssueLock(deps.db, task.repoId, task.issueNumber, () => publishAttempt(deps, payload));
  return publishAttempt(deps, payload);
}

/** The steps publish records (besides `published`): the pull request it made, and the check run. */
const PULL_REQUEST = {
  name: "pull-request",
  schema: z.object({ number: z.number().int(), url: z.string() }),
};
const CHECK_RUN = "check-run";

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
    // 1. The pull request.
    let pr = await getStep(deps.db, attempt.id, PULL_REQUEST.name, PULL_REQUEST.schema);
    if (!pr) {
      pr = await openOrUpdatePullRequest(octokit, repo, {
        head: task.branch,
        base: config.base_branch ?? repository.defaultBranch,
        title: task.title,
        body: renderPullRequestBody({
          issueNumber: task.issueNumber,
          summary: attempt.summary ?? "",
          reason: attempt.reason ?? "",
          diffStat: attempt.diffStat,
          attempt: attempt.number,
        }),
        draft: config.draft_prs,
      });
      failpoint("after-pull-request", repository.fullName);
      await recordStep(deps.db, attempt.id, PULL_REQUEST.name, { number: pr.number, url: pr.url });
      await updateTask(deps.db, task.id, { prNumber: pr.number });
      await recordEvent(deps.db, { taskId: task.id, type: "pr.opened", data: { number: pr.number } });
    }
    prNumber = pr.number;

    // 2. The check run on the pushed commit.
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
  }

  // 3. The status comment and label.
  if (latest) await showCurrentStatus(deps, { attempt, prNumber, config, octokit, repo });
  // Last: until this is recorded, the watchdog queues this job again (it may have been lost).
  await recordStep(deps.db, attempt.id, PUBLISHED, {});
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
