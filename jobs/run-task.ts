import { remainingBudget, spentSoFar } from "../src/agent/budget.ts";
import { readStart } from "../src/db/attempt-start.ts";
import { earlierAttempts, lapseLease, leaseHeld } from "../src/db/attempts.ts";
import { readIssueFacts, type IssueFacts } from "../src/github/read-issues.ts";
import { statusViewOf } from "../src/github/render.ts";
import { repoRef, type Octokit } from "../src/github/types.ts";
import { annotate } from "../src/lib/trace.ts";
import { PermanentJobError } from "../src/queue/queue.ts";
import type { JobContext, JobDeps } from "./deps.ts";
import { runAgentIn } from "./run-task/agent.ts";
import { commitWork } from "./run-task/commit.ts";
import { attemptMerge } from "./run-task/merge.ts";
import { conclude } from "./run-task/conclude.ts";
import { judgeRun } from "./run-task/judge.ts";
import { holdLease, interrupted, takeLease } from "./run-task/lease.ts";
import { recordAndPush, resumeJudged } from "./run-task/push.ts";
import { failed, type Outcome, type Run } from "./run-task/run.ts";
import {
  keepStoppedWork,
  stoppedOutcome,
  watchTask,
  type DoneSoFar,
  type Stop,
  type TaskWatch,
} from "./run-task/stop.ts";
import { timingsRecorder, waitingOf, withTimings, type TimingsRecorder } from "./run-task/timings.ts";
import { openWorktree, releaseWorkspace, unpinBranchConfig } from "./run-task/worktree.ts";
import { showStatus } from "./show-status.ts";

/**
 * One attempt at a task: lease it, make a worktree on the task branch, run the agent, commit what it
 * changed, run the checks, judge the run and, when it passed, push the branch. The result goes to
 * `publish`. Each step is a function of its own, in jobs/run-task/; an attempt that merges its pull
 * request's base (`update`, `conflict`) takes its own steps after the worktree (jobs/run-task/merge.ts).
 * A person who stops the task while it runs stops the agent within seconds; its work so far is
 * committed and pushed, and the attempt ends as stopped (jobs/run-task/stop.ts).
 */
export async function runTask(
  deps: JobDeps,
  payload: { attemptId: number },
  context: JobContext,
): Promise<void> {
  const run = await takeLease(deps, payload.attemptId, context.signal);
  if (!run) return;
  annotate({
    "drover.task_id": run.task.id,
    "drover.attempt": run.attempt.number,
    "drover.repo": run.repository.fullName,
  });
  // Where the attempt's time goes, shown with its result: measured around each step below.
  const timings = timingsRecorder(waitingOf(run.attempt));
  const concludeTimed = (outcome: Outcome) => conclude(deps, run, withTimings(outcome, timings.read()));
  if (run.attempt.lostLeases >= MAX_LOST_LEASES) return concludeTimed(crashLoop(run.attempt.lostLeases));

  // While this runs, the lease is renewed; if it is lost (another worker took over after this one
  // stalled), the agent and git calls are cancelled and nothing is written. Apart from that, the task is
  // watched: a person's stop stops the agent (and the checks), and what it did so far is kept.
  const holding = holdLease(deps, run);
  const watch = watchTask(deps, run);
  const signal = context.signal ? AbortSignal.any([context.signal, holding.lost]) : holding.lost;
  try {
    const outcome =
      (await resumeJudged(deps, run, signal)) ?? (await attemptTask(deps, run, signal, watch, timings));
    if (await interrupted(deps, run.lease, context, run.log)) return;
    await concludeTimed(outcome);
  } catch (error) {
    if (await interrupted(deps, run.lease, context, run.log)) return;
    const fate = context.fate(error);
    if (fate.kind !== "final") {
      // The queue runs this job again: let its next try take the attempt at once.
      await lapseLease(deps.db, run.lease, "error").catch(() => {});
      throw error;
    }
    // The queue will not try again: the attempt fails with the reason, instead of hanging in `running`.
    run.log.error({ err: error }, "attempt failed for good");
    await concludeTimed(failed(`Drover could not run the task: ${fate.reason}`));
  } finally {
    watch.release();
    holding.release();
  }
}

/**
 * An attempt whose workers died this many times under it fails for good. Hand-backs (a shutdown, a job
 * retry) do not count: a long run may outlive several deploys.
 */
const MAX_LOST_LEASES = 5;

/**
 * Its workers keep dying (the agent exhausts the machine, or a bug kills the process): never a loop, and
 * no new attempt either, which would take down as many workers again.
 */
function crashLoop(lost: number): Outcome {
  return failed(
    `the worker running this attempt stopped ${lost} times without handing it back (a crash, a kill or ` +
      "a freeze each time), so Drover gave up on it; see the workers' logs, then remove and add the label to try again",
    { final: true },
  );
}

/**
 * The steps, in order, from the issue as it is now to the pushed branch. The agent and the checks run
 * under `watch` too; between steps, a stop seen ends the attempt keeping what was done.
 */
async function attemptTask(
  deps: JobDeps,
  run: Run,
  signal: AbortSignal,
  watch: TaskWatch,
  timings: TimingsRecorder,
): Promise<Outcome> {
  const shown = await showRunning(deps, run, watch);
  if ("stop" in shown) return stoppedOutcome(shown.stop, "it had changed nothing");
  const { issue, octokit } = shown;
  const opened = await timings.worktree(() => openWorktree(deps, run, signal));
  // The repository's setup failed: the attempt fails with it (its worktree is handed back already).
  if ("setupFailed" in opened) return opened.setupFailed;
  const work = opened;
  const stopping = AbortSignal.any([signal, watch.signal]);
  const keep = (stop: Stop, done: DoneSoFar = {}) => keepStoppedWork(deps, run, work, stop, done, signal);
  try {
    const before = await watch.check();
    if (before) return await keep(before);
    const earlier = await earlierAttempts(deps.db, run.task.id, run.attempt.number);
    const budget = remainingBudget(run.config.budget, spentSoFar(earlier));
    const merge = readStart(run.attempt.start)?.merge;
    // A merge of the base may need no agent: it looks at the budget only if it does.
    if (merge) {
      const context = { issue, octokit, watch, signal, stopping, earlier, budget, timings };
      return await attemptMerge(deps, run, work, merge, context);
    }
    if (budget.exhausted) {
      const outcome = failed(budget.why, { summary: "The agent did not run.", final: true });
      return { ...outcome, fields: { baseSha: work.baseBranchSha } };
    }
    const brief = { issue, octokit, earlier, budgetMs: budget.timeMs };
    const ran = await timings.time("agent", () => runAgentIn(deps, run, work, brief, stopping));
    await unpinBranchConfig(work, signal);
    const commit = await commitWork(deps, run, work, issue, signal);
    const duringAgent = watch.stopped();
    if (duringAgent) return await keep(duringAgent, { ran, commit });
    const judged = await judgeRun(run, work, { ...ran, budgetMs: budget.timeMs }, commit, stopping, timings);
    const duringChecks = watch.stopped();
    if (duringChecks) return await keep(duringChecks, { ran, commit });
    const keepAfter = (stop: Stop) => keep(stop, { ran, commit });
    return await recordAndPush(deps, run, work, judged, { watch, keep: keepAfter }, signal, timings);
  } finally {
    await releaseWorkspace(deps, run, work);
  }
}

/**
 * The issue as it is now, and the status comment saying the task runs (only while the lease is ours and
 * the task still runs this attempt); the stop, when a person stopped it already.
 */
async function showRunning(
  deps: JobDeps,
  run: Run,
  watch: TaskWatch,
): Promise<{ issue: IssueFacts; octokit: Octokit } | { stop: Stop }> {
  const { task, repository, config } = run;
  const repo = repoRef(repository.fullName);
  const octokit = await deps.github.installation(repository.installationId);
  const read = await readIssueFacts(octokit, repo, task.issueNumber);
  if (!read.ok) throw new PermanentJobError(`issue #${task.issueNumber} cannot be read: ${read.reason}`);
  if (!(await leaseHeld(deps.db, run.lease))) {
    const stop = await watch.check();
    if (stop) return { stop };
    throw new PermanentJobError("the lease was lost before the run began");
  }
  const view = statusViewOf(task, null, { agent: config.agent, maxAttempts: config.max_attempts });
  await showStatus(deps.db, octokit, repo, task, view);
  return { issue: read.issue, octokit };
}
