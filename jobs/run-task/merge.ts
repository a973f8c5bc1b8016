import type { remainingBudget } from "../../src/agent/budget.ts";
import { judge, withChecks, type Judgement } from "../../src/agent/judge.ts";
import type { PromptMerge } from "../../src/agent/prompt.ts";
import type { AttemptOutcome } from "../../src/db/attempt-record.ts";
import type { AttemptStart } from "../../src/db/attempt-start.ts";
import { recordStep, type earlierAttempts } from "../../src/db/attempts.ts";
import { lastSummary, tasksOfPullRequests } from "../../src/db/prompt-context.ts";
import type { IssueFacts } from "../../src/github/read-issues.ts";
import type { Octokit } from "../../src/github/types.ts";
import {
  branchTip,
  commitMerge,
  commitSubjects,
  filesWithMarkers,
  headCommit,
  isAncestor,
  mergedTree,
  mergeInProgress,
  mergeInto,
  pullRequestOf,
  stageAll,
  unmergedPaths,
  type Identity,
} from "../../src/git/merge.ts";
import { commitAll } from "../../src/git/commit.ts";
import { pinAgentConfig, unpinAgentConfig } from "../../src/git/worktree.ts";
import type { JobDeps } from "../deps.ts";
import { checkSurroundings, runAgentIn, type AgentRun } from "./agent.ts";
import { agentRunFields, checksOf } from "./judge.ts";
import { recordAndPush } from "./push.ts";
import { failed, STEPS, type Judged, type Outcome, type Run } from "./run.ts";
import { stoppedOutcome, type Stop, type TaskWatch } from "./stop.ts";
import type { TimingsRecorder } from "./timings.ts";
import type { Workspace } from "./worktree.ts";

type Merge = NonNullable<AttemptStart["merge"]>;
type Sides = { base: string; ours: string; theirs: string; conflicted: string[] };

/** What the merge steps need of the attempt around them. */
export type MergeContext = {
  issue: IssueFacts;
  octokit: Octokit;
  watch: TaskWatch;
  /** Cancels git and pushes: a lost lease, a shutdown. */
  signal: AbortSignal;
  /** Also a person's stop: for the agent and the checks. */
  stopping: AbortSignal;
  /** The task's earlier attempts, and what is left of its budget (for the agent). */
  earlier: Awaited<ReturnType<typeof earlierAttempts>>;
  budget: ReturnType<typeof remainingBudget>;
  /** Where the attempt's time goes: the agent, the checks and the push are timed as any attempt's. */
  timings?: TimingsRecorder;
};

/**
 * An `update` or `conflict` attempt: the pull request's base merged into the task branch (a merge commit
 * with both parents, pushed on top of the branch, never forced, so every commit a reviewer saw stays
 * reachable from the new head). A clean merge needs no agent; conflicts are left in the worktree for the
 * agent to resolve, and what it leaves is committed only when no file still conflicts. Then the
 * repository's checks, and the push as any attempt's (recorded first, so a worker taking over never
 * pushes twice). A merge left in conflict moves the task to `conflict` and pushes nothing.
 */
export async function attemptMerge(
  deps: JobDeps,
  run: Run,
  work: Workspace,
  merge: Merge,
  context: MergeContext,
): Promise<Outcome> {
  const { task } = run;
  const { signal } = context;
  const fields: AttemptOutcome = { baseSha: work.baseBranchSha };
  if (work.fromBranch === null) {
    const reason = `the branch \`${task.branch}\` is not on GitHub, so \`${merge.branch}\` cannot be merged into it; comment \`/drover retry --fresh\` to start the task again`;
    return { ...failed(reason, { final: true }), fields };
  }
  const ours = work.fromBranch;
  const theirs = await branchTip(work.mirror, merge.branch, signal);
  const author = await authorOf(deps, run);
  const merged = await mergeInto({ worktree: work.path, theirs, author, signal });
  const sides: Sides = {
    base: merge.branch,
    ours,
    theirs,
    conflicted: merged.kind === "conflicts" ? merged.files : [],
  };
  await recordStep(deps.db, run.attempt.id, STEPS.merge.name, sides);
  run.log.info({ base: merge.branch, theirs, merged: merged.kind, files: sides.conflicted }, "base merged");
  if (merged.kind === "up-to-date") return upToDate(run, sides, fields);

  let ran: AgentRun | undefined;
  if (merged.kind === "conflicts") {
    const resolved = await resolveConflicts(deps, run, work, sides, context);
    if ("outcome" in resolved) return resolved.outcome;
    ran = resolved.ran;
  }
  // A merge half resolved, or not checked, is not worth keeping: a stopped attempt pushes nothing of it.
  const keep = async (stop: Stop) =>
    stoppedOutcome(stop, `its merge of \`${merge.branch}\` was not pushed`, {
      ...fields,
      ...(ran ? agentRunFields(ran.result) : {}),
    });
  const stopped = context.watch.stopped();
  if (stopped) return keep(stopped);
  const sha = await finishMerge(deps, run, work, sides, author, context);
  if (typeof sha !== "string") return sha.outcome;
  const judged = await judgeMerge(deps, run, work, { sides, sha, ran, fields }, context);
  const duringChecks = context.watch.stopped();
  if (duringChecks) return keep(duringChecks);
  return recordAndPush(deps, run, work, judged, { watch: context.watch, keep }, signal, context.timings);
}

/** The commit message of Drover's merge of `base` into the task branch. */
export function mergeMessage(base: string, branch: string): string {
  return `Merge ${base} into ${branch}`;
}

async function authorOf(deps: JobDeps, run: Run): Promise<Identity> {
  const identity = await deps.github.identity(run.repository.installationId);
  return { name: identity.name, email: identity.email };
}

/** The branch holds the base's tip already: nothing to merge or push, the task goes back to review. */
function upToDate(run: Run, sides: Sides, fields: AttemptOutcome): Outcome {
  const reason = `\`${run.task.branch}\` already contains \`${sides.base}\` (${short(sides.theirs)}); nothing to push`;
  return {
    judgement: { conclusion: "success", state: "review", reason, summary: "The branch was up to date." },
    fields: { ...fields, headSha: null, diffStat: null },
  };
}

/**
 * The agent, told which files conflict and both sides' intent, resolves the merge in the worktree, with
 * the base branch's agent configuration (pinned after the merge, put back to the merge's own before
 * anything is committed). The outcome instead when it did not get there: the task moves to `conflict`.
 */
async function resolveConflicts(
  deps: JobDeps,
  run: Run,
  work: Workspace,
  sides: Sides,
  context: MergeContext,
): Promise<{ ran: AgentRun } | { outcome: Outcome }> {
  const { signal, budget } = context;
  if (budget.exhausted) {
    const why = `could not be given to the agent: ${budget.why}`;
    const outcome = inConflict(run, sides, why, { baseSha: work.baseBranchSha }, "The agent did not run.");
    return { outcome };
  }
  const merged = await mergedTree(work.path, sides.ours, sides.theirs, signal);
  const pinned = await pinAgentConfig(work.path, work.baseBranchSha, signal);
  const merge = await mergePromptOf(deps, run, work, sides, signal);
  const { issue, octokit, earlier } = context;
  const brief = { issue, octokit, earlier, budgetMs: budget.timeMs, merge };
  const agent = () => runAgentIn(deps, run, work, brief, context.stopping);
  const ran = await (context.timings ? context.timings.time("agent", agent) : agent());
  if (pinned.length > 0)
    await unpinAgentConfig(work.path, { baseSha: work.baseBranchSha, startSha: merged, pinned }, signal);
  if (context.watch.stopped()) return { ran };
  const judgement = judge({ ...ran.result, changed: true, timeoutMs: ran.timeoutMs });
  const left = await stillConflicted(work, sides, signal);
  const abandoned = left.length === 0 && !(await keptMerge(work, sides, signal));
  if (left.length === 0 && !abandoned && judgement.state === "review") return { ran };
  const why =
    left.length > 0
      ? `still conflicts in ${fileList(left)}`
      : abandoned
        ? "was abandoned by the agent (it is no longer in progress, and the branch does not contain the base)"
        : `was not resolved: ${judgement.reason}`;
  return {
    outcome: inConflict(
      run,
      sides,
      why,
      { ...agentRunFields(ran.result), baseSha: work.baseBranchSha },
      // An agent that said it resolved what is still marked is not the summary a person should read first
      // (its verdict and words stay in the run's facts and log tail).
      left.length > 0 ? `Conflict markers are left in ${fileList(left)}.` : judgement.summary,
    ),
  };
}

/**
 * The conflicted files whose text still holds markers, or that are still unmerged once everything the
 * agent left is staged (an agent need not `git add` what it resolved).
 */
async function stillConflicted(work: Workspace, sides: Sides, signal: AbortSignal): Promise<string[]> {
  await stageAll(work.path, signal);
  const unmerged = await unmergedPaths(work.path, signal);
  const marked = await filesWithMarkers(work.path, sides.conflicted, sides, signal);
  return [...new Set([...unmerged, ...marked])].sort();
}

/** The merge is still in progress, or the agent committed it (the branch now contains the base). */
async function keptMerge(work: Workspace, sides: Sides, signal: AbortSignal): Promise<boolean> {
  return (
    (await mergeInProgress(work.path, signal)) || (await isAncestor(work.path, sides.theirs, "HEAD", signal))
  );
}

/**
 * A merge left for a person: the task moves to `conflict` (never retried), the check run on the pull
 * request's head asks for action, and the status comment names the files and what to do.
 */
function inConflict(run: Run, sides: Sides, why: string, fields: AttemptOutcome, summary: string): Outcome {
  const reason =
    `the merge of \`${sides.base}\` into \`${run.task.branch}\` ${why}; resolve it by hand and push to ` +
    "the branch, or comment `/drover retry` to let the agent try again";
  return {
    judgement: { conclusion: "action_required", state: "conflict", reason, summary },
    fields: { ...fields, headSha: null, diffStat: null },
    final: true,
  };
}

/**
 * The merge commit (both parents), made unless the agent committed the merge itself; anything it left
 * uncommitted after doing so goes into it too. Its sha, or the outcome when the merge went missing.
 */
async function finishMerge(
  deps: JobDeps,
  run: Run,
  work: Workspace,
  sides: Sides,
  author: Identity,
  context: MergeContext,
): Promise<string | { outcome: Outcome }> {
  const { signal } = context;
  const message = mergeMessage(sides.base, run.task.branch);
  if (await mergeInProgress(work.path, signal))
    return commitMerge({ worktree: work.path, message, author, signal });
  // The agent committed the merge itself: whatever it left uncommitted goes on top.
  run.log.info("the agent committed the merge itself");
  const rest = await commitAll({ worktree: work.path, message, author, trailers: [], signal });
  if (!(await isAncestor(work.path, sides.theirs, "HEAD", signal)))
    return { outcome: failed("the merge went missing from the worktree", { final: true }) };
  return rest.changed ? rest.sha : headCommit(work.path, signal);
}

/**
 * The judgement of a merge: the agent's when it resolved conflicts (a pass it reported), a clean merge's
 * otherwise, then the repository's checks on the merged result. A merge whose checks fail is not pushed.
 */
async function judgeMerge(
  deps: JobDeps,
  run: Run,
  work: Workspace,
  merge: { sides: Sides; sha: string; ran: AgentRun | undefined; fields: AttemptOutcome },
  context: MergeContext,
): Promise<Judged> {
  const { sides, sha, ran } = merge;
  const head = `its head is now ${short(sha)}`;
  let judgement: Judgement = ran
    ? {
        conclusion: "success",
        state: "review",
        reason: `the agent resolved the conflicts with \`${sides.base}\` in ${fileList(sides.conflicted)}; ${head}`,
        summary: ran.result.verdict?.summary.trim() || "The agent resolved the conflicts.",
      }
    : {
        conclusion: "success",
        state: "review",
        reason: `merged \`${sides.base}\` (${short(sides.theirs)}) without conflicts; ${head}`,
        summary: `Merged \`${sides.base}\` into \`${run.task.branch}\`.`,
      };
  const surroundings = ran ?? (await checkSurroundings(deps, work));
  const checks = await checksOf(run, work, surroundings, context.stopping, context.timings);
  judgement = checks.length > 0 ? withChecks(judgement, checks) : judgement;
  const fields: AttemptOutcome = {
    ...merge.fields,
    ...(ran ? agentRunFields(ran.result) : {}),
    checks,
    diffStat: null,
  };
  if (judgement.state !== "review") {
    // A merge without an agent fails the same way every time: no retry.
    const outcome = { judgement, fields: { ...fields, headSha: null }, ...(ran ? {} : { final: true }) };
    return { outcome, push: null };
  }
  return { outcome: { judgement, fields: { ...fields, headSha: sha } }, push: { sha } };
}

/**
 * Both sides' intent for the agent's prompt: this task's last summary, and what the base gained since the
 * branch parted from it: the Drover tasks whose pull requests were merged there (found by the numbers in
 * their merge commits' subjects, "Merge pull request #12" or a squash's "(#12)"), and the other commits'
 * subjects.
 */
export async function mergePromptOf(
  deps: Pick<JobDeps, "db">,
  run: Pick<Run, "task" | "attempt" | "repository">,
  work: Pick<Workspace, "path">,
  sides: Sides,
  signal: AbortSignal | undefined,
): Promise<PromptMerge> {
  const subjects = await commitSubjects(work.path, { from: sides.ours, to: sides.theirs }, 200, signal);
  const numbers = [...new Set(subjects.flatMap((subject) => pullRequestOf(subject) ?? []))];
  const tasks = (await tasksOfPullRequests(deps.db, run.repository.id, numbers)).filter(
    (task) => task.number !== run.task.issueNumber,
  );
  const known = new Set(tasks.map((task) => task.prNumber));
  return {
    base: sides.base,
    conflicted: sides.conflicted,
    ownSummary: await lastSummary(deps.db, run.task.id, run.attempt.number),
    baseTasks: tasks,
    baseCommits: subjects.filter((subject) => !known.has(pullRequestOf(subject) ?? -1)),
  };
}

function fileList(files: readonly string[]): string {
  const shown = files.slice(0, 10).map((file) => `\`${file}\``);
  return files.length > 10 ? `${shown.join(", ")} and ${files.length - 10} more` : shown.join(", ");
}

function short(sha: string): string {
  return sha.slice(0, 12);
}
