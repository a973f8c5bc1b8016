import path from "node:path";
import { agentEnvironment } from "../src/agent/env.ts";
import { judge, type Judgement } from "../src/agent/judge.ts";
import { buildPrompt } from "../src/agent/prompt.ts";
import { parseArgv } from "../src/agent/parse-argv.ts";
import { runAgent } from "../src/agent/run-agent.ts";
import type { DroverConfig } from "../src/config/schema.ts";
import { setTimeout as sleep } from "node:timers/promises";
import {
  claimAttempt,
  finishAttempt,
  lapseLease,
  LEASE_MS,
  renewLease,
  type Claim,
  getStep,
  leaseHeld,
  recordStep,
  type Attempt,
  type AttemptOutcome,
  type Lease,
} from "../src/db/attempts.ts";
import { getRepository, type Repository } from "../src/db/repositories.ts";
import { transitionTask, updateTask, type Task } from "../src/db/tasks.ts";
import { commitAll } from "../src/git/commit.ts";
import { ensureMirror } from "../src/git/mirror.ts";
import { pushBranch } from "../src/git/push.ts";
import { addWorktree, removeWorktree } from "../src/git/worktree.ts";
import { readIssueFacts } from "../src/github/graph.ts";
import { noreplyEmail } from "../src/github/people.ts";
import { statusViewOf } from "../src/github/render.ts";
import { publishStatus } from "../src/github/status.ts";
import { repoRef } from "../src/github/types.ts";
import { PermanentJobError, SHUTDOWN } from "../src/queue/queue.ts";
import type { JobContext, JobDeps } from "./deps.ts";
import { requestSchedule } from "./sync-issue.ts";

/**
 * One attempt at a task: lease it, make a worktree on the task branch, run the agent, commit what it
 * changed, judge the run and, when it passed, push the branch. The result goes to `publish`.
 */
export async function runTask(
  deps: JobDeps,
  payload: { attemptId: number },
  context: JobContext,
): Promise<void> {
  const claim = await claimWhenFree(deps, payload.attemptId, context.signal);
  if (claim.kind !== "claimed") return; // finished, or the task moved on (closed, cancelled, restarted)
  const { task, attempt, lease } = claim;
  const repository = await getRepository(deps.db, task.repoId);
  if (!repository)
    throw new PermanentJobError(`repository ${task.repoId} of task ${task.id} is not recorded`);
  const log = deps.log.child({ taskId: task.id, attempt: attempt.number, repo: repository.fullName });

  // While this runs, the lease is renewed; if it is lost (another worker took over after this one
  // stalled, or the task was stopped), the agent and git calls are cancelled and nothing is written.
  const holding = holdLease(deps, lease, log);
  const signal = context.signal ? AbortSignal.any([context.signal, holding.lost]) : holding.lost;
  try {
    const outcome = await attemptTask(
      deps,
      { task, attempt, lease, repository },
      { ...context, signal },
      log,
    );
    if (await interrupted(deps, lease, context, log)) return;
    await conclude(deps, { task, lease, repository }, outcome);
  } catch (error) {
    if (await interrupted(deps, lease, context, log)) return;
    if (!context.lastTry && !(error instanceof PermanentJobError)) throw error;
    // The queue will not try again: the attempt fails with the reason, instead of the task hanging in `running`.
    log.error({ err: error }, "attempt failed for good");
    const reason = `Drover could not run the task: ${error instanceof Error ? error.message : String(error)}`;
    await conclude(
      deps,
      { task, lease, repository },
      {
        judgement: { conclusion: "failure", state: "failed", reason, summary: "" },
        fields: {},
      },
    );
  } finally {
    holding.release();
  }
}

/**
 * The worker is shutting down (SIGTERM): the agent was stopped, and the attempt is handed back (its
 * lease lapses now) instead of being judged, so another worker, or this one restarted, runs it again.
 */
async function interrupted(deps: JobDeps, lease: Lease, context: JobContext, log: JobDeps["log"]) {
  if (context.signal?.reason !== SHUTDOWN) return false;
  await lapseLease(deps.db, lease);
  log.info("worker shutting down: attempt handed back to run again");
  return true;
}

/**
 * Claims the attempt, waiting (bounded) while another worker's live lease on it runs out: a job
 * delivered twice, or requeued after a crash before the dead worker's lease lapsed.
 */
async function claimWhenFree(
  deps: JobDeps,
  attemptId: number,
  signal: AbortSignal | undefined,
): Promise<Claim> {
  const deadline = Date.now() + 3 * LEASE_MS;
  for (;;) {
    const claim = await claimAttempt(deps.db, attemptId, deps.workerId);
    if (claim.kind !== "busy" || Date.now() + claim.retryInMs > deadline || signal?.aborted) return claim;
    await sleep(claim.retryInMs, undefined, signal ? { signal } : {}).catch(() => undefined);
  }
}

/** Renews the lease every third of its length until `release`; `lost` aborts once renewal fails. */
function holdLease(deps: JobDeps, lease: Lease, log: JobDeps["log"]) {
  const controller = new AbortController();
  const timer = setInterval(() => {
    renewLease(deps.db, lease).then(
      (held) => {
        if (held) return;
        log.warn("lease lost: another worker took the attempt over, or the task was stopped");
        controller.abort(new Error("lease lost"));
        clearInterval(timer);
      },
      (error: unknown) => log.warn({ err: error }, "lease renewal failed; trying again"),
    );
  }, LEASE_MS / 3);
  timer.unref();
  return { lost: controller.signal, release: () => clearInterval(timer) };
}

type Outcome = { judgement: Judgement; fields: AttemptOutcome };

async function attemptTask(
  deps: JobDeps,
  run: { task: Task; attempt: Attempt; lease: Lease; repository: Repository },
  context: JobContext,
  log: JobDeps["log"],
): Promise<Outcome> {
  const { task, attempt, lease, repository } = run;
  const config = task.config as DroverConfig;
  const repo = repoRef(repository.fullName);
  const octokit = await deps.github.installation(repository.installationId);
  const read = await readIssueFacts(octokit, repo, task.issueNumber);
  if (!read.ok) throw new PermanentJobError(`issue #${task.issueNumber} cannot be read: ${read.reason}`);
  const issue = read.issue;

  // 1. Say it is running.
  const commentId = await publishStatus(
    octokit,
    repo,
    task.issueNumber,
    statusViewOf(task, null, { agent: config.agent }),
    task.statusCommentId,
  );
  if (commentId !== task.statusCommentId) await updateTask(deps.db, task.id, { statusCommentId: commentId });

  // 2. A worktree on the task branch, from a fresh mirror of the base branch.
  const token = await deps.github.token(repository.installationId);
  const home = path.resolve(deps.env.DROVER_HOME);
  const signal = context.signal;
  const mirror = await ensureMirror({
    home,
    repoFullName: repository.fullName,
    cloneUrl: repository.cloneUrl,
    token,
    ...(signal ? { signal } : {}),
  });
  const base = config.base_branch ?? repository.defaultBranch;
  // Per lease epoch: an agent orphaned by a crashed worker never shares a directory with its successor.
  const runName = `${repository.id}-${task.issueNumber}-${attempt.number}-${lease.epoch}`;
  const worktree = path.join(home, "worktrees", runName);
  const { baseSha } = await addWorktree({
    mirror,
    path: worktree,
    branch: task.branch,
    base,
    ...(signal ? { signal } : {}),
  });

  try {
    // 3. The agent.
    const prompt = buildPrompt({
      repoFullName: repository.fullName,
      issue: { number: issue.number, title: issue.title, body: issue.body, author: issue.author.login },
      branch: task.branch,
      baseBranch: base,
      guidelines: config.guidelines,
    });
    log.info({ agent: config.agent }, "agent starting");
    const result = await runAgent({
      agent: config.agent,
      agentCommand: config.agent_command === undefined ? undefined : parseArgv(config.agent_command),
      agentArgs: config.agent_args,
      prompt,
      cwd: worktree,
      workDir: path.join(home, "runs", runName),
      timeoutMs: config.task_timeout,
      signal,
      env: agentEnvironment(process.env, deps.env.DROVER_AGENT_ENV),
    });
    log.info({ outcome: result.outcome, exitCode: result.exitCode, ms: result.durationMs }, "agent finished");

    // 4. Commit what changed, credited to the issue's author, and judge.
    const identity = await deps.github.identity(repository.installationId);
    const commit = await commitAll({
      worktree,
      message: `${issue.title} (#${issue.number})`,
      author: { name: identity.name, email: identity.email },
      trailers: [
        `Co-authored-by: ${issue.author.login} <${noreplyEmail(issue.author)}>`,
        `Drover-Task: ${repository.fullName}#${issue.number}`,
      ],
      baseSha,
      ...(signal ? { signal } : {}),
    });
    const judgement = judge({ ...result, changed: commit.changed, timeoutMs: config.task_timeout });
    const fields: AttemptOutcome = {
      verdict: result.verdict,
      logTail: result.logTail,
      baseSha,
      durationMs: result.durationMs,
      costUsd: result.costUsd === undefined ? null : String(result.costUsd),
      turns: result.turns ?? null,
      diffStat: commit.changed ? commit.diffStat : null,
    };

    // 5. Push a passing result with Drover's token, once, and only while this worker holds the lease.
    if (judgement.state === "review" && commit.changed) {
      if (!(await leaseHeld(deps.db, lease))) {
        // Closed, cancelled or restarted while the agent ran, or another worker took over: nothing is pushed.
        const reason = "the task was stopped while the agent ran; nothing was pushed";
        return { judgement: { ...judgement, conclusion: "neutral", state: "cancelled", reason }, fields };
      }
      const pushed = await getStep<{ sha: string }>(deps.db, attempt.id, "push");
      if (pushed?.sha !== commit.sha) {
        await pushBranch({
          mirror,
          cloneUrl: repository.cloneUrl,
          branch: task.branch,
          sha: commit.sha,
          token,
          ...(signal ? { signal } : {}),
        });
        await recordStep(deps.db, attempt.id, "push", { sha: commit.sha, branch: task.branch });
      }
      fields.headSha = commit.sha;
    }
    return { judgement, fields };
  } finally {
    await removeWorktree(mirror, worktree);
  }
}

/** Records the outcome (if the lease still holds), moves the task on, and hands over to publish. */
async function conclude(
  deps: JobDeps,
  run: { task: Task; lease: Lease; repository: Repository },
  outcome: Outcome,
): Promise<void> {
  const { judgement, fields } = outcome;
  const recorded = await finishAttempt(deps.db, run.lease, {
    ...fields,
    conclusion: judgement.conclusion,
    reason: judgement.reason,
    summary: judgement.summary,
  });
  if (!recorded) return; // another worker holds the attempt now; it will conclude it
  const state = judgement.state === "cancelled" ? "cancelled" : judgement.state;
  await transitionTask(
    deps.db,
    run.task.id,
    ["running"],
    state,
    { stateReason: judgement.reason },
    { type: `task.${state === "review" ? "completed" : state}`, data: { reason: judgement.reason } },
  );
  await deps.enqueue("publish", { attemptId: run.lease.attemptId });
  await requestSchedule(deps);
}
