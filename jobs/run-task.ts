import { mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { remainingBudget, spentSoFar } from "../src/agent/budget.ts";
import { runChecks, type CheckResult } from "../src/agent/checks.ts";
import { agentEnvironment } from "../src/agent/env.ts";
import { formatDuration } from "../src/agent/format-duration.ts";
import { judge, withChecks, type AgentOutcome, type Judgement } from "../src/agent/judge.ts";
import { chownTree, resolveAgentUser, type AgentUser } from "../src/agent/os-user.ts";
import { parseArgv } from "../src/agent/parse-argv.ts";
import { buildPrompt } from "../src/agent/prompt.ts";
import { runAgent, type AgentRunResult } from "../src/agent/run-agent.ts";
import { scrubSecrets, secretValues } from "../src/agent/scrub.ts";
import { checkCommands, type DroverConfig } from "../src/config/schema.ts";
import {
  claimAttempt,
  earlierAttempts,
  concludeAttempt,
  lapseLease,
  LEASE_MS,
  lostLeases,
  renewLease,
  type Claim,
  getStep,
  leaseHeld,
  recordStep,
  recordStepUnderLease,
  type Attempt,
  type AttemptOutcome,
  type Lease,
  type TaskMove,
} from "../src/db/attempts.ts";
import { getRepository, type Repository } from "../src/db/repositories.ts";
import type { Task } from "../src/db/tasks.ts";
import { commitAll } from "../src/git/commit.ts";
import { ensureMirror } from "../src/git/mirror.ts";
import { pushBranch, remoteBranchSha } from "../src/git/push.ts";
import { addWorktree, pinAgentConfig, removeWorktree } from "../src/git/worktree.ts";
import { readIssueFacts } from "../src/github/graph.ts";
import { noreplyEmail } from "../src/github/people.ts";
import { statusViewOf } from "../src/github/render.ts";
import { rateLimitDelay } from "../src/github/rate-limit.ts";
import { repoRef } from "../src/github/types.ts";
import { failpoint } from "../src/lib/failpoint.ts";
import { LOCK_LOST, PermanentJobError, SHUTDOWN } from "../src/queue/queue.ts";
import { retryDecision } from "../src/scheduler/retry.ts";
import type { JobContext, JobDeps } from "./deps.ts";
import { gatherPromptInput } from "./prompt-context.ts";
import { requestSchedule } from "./sync-issue.ts";
import { showStatus } from "./show-status.ts";

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
  if (lease.epoch > 1) await stopOrphans(deps, attempt.id, lease.epoch, log);
  const lost = lease.epoch > MAX_LOST_LEASES ? await lostLeases(deps.db, lease) : 0;
  if (lost >= MAX_LOST_LEASES) {
    // Its workers keep dying (the agent exhausts the machine, or a bug kills the process): never a loop,
    // and no new attempt either, which would take down as many workers again.
    const reason =
      `the worker running this attempt stopped ${lost} times without handing it back (a crash, a kill or ` +
      "a freeze each time), so Drover gave up on it; see the workers' logs, then remove and add the label to try again";
    await conclude(
      deps,
      { task, lease, repository },
      {
        judgement: { conclusion: "failure", state: "failed", reason, summary: "" },
        fields: {},
        final: true,
      },
    );
    return;
  }

  // While this runs, the lease is renewed; if it is lost (another worker took over after this one
  // stalled, or the task was stopped), the agent and git calls are cancelled and nothing is written.
  const holding = holdLease(deps, lease, log);
  const signal = context.signal ? AbortSignal.any([context.signal, holding.lost]) : holding.lost;
  try {
    const judged = lease.epoch > 1 ? await getStep<Judged>(deps.db, attempt.id, JUDGED) : undefined;
    const outcome =
      (judged && (await resumeJudged(deps, { task, attempt, repository }, judged, signal, log))) ??
      (await attemptTask(deps, { task, attempt, lease, repository }, { ...context, signal }, log));
    if (await interrupted(deps, lease, context, log)) return;
    await conclude(deps, { task, lease, repository }, outcome);
  } catch (error) {
    if (await interrupted(deps, lease, context, log)) return;
    if (rateLimitDelay(error) !== null || (!context.lastTry && !(error instanceof PermanentJobError))) {
      // The queue retries this job: let its next try take the attempt at once.
      await lapseLease(deps.db, lease, "error").catch(() => {});
      throw error;
    }
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
 * An attempt whose workers died this many times under it fails for good. Hand-backs (a shutdown, a job
 * retry) do not count: a long run may outlive several deploys.
 */
const MAX_LOST_LEASES = 5;

/**
 * The worker is shutting down (SIGTERM), or lost the job's lock (it stalled, and the queue gives the job
 * to another worker): the agent was stopped, and the attempt is handed back (its
 * lease lapses now) instead of being judged, so another worker, or this one restarted, runs it again.
 */
async function interrupted(deps: JobDeps, lease: Lease, context: JobContext, log: JobDeps["log"]) {
  const reason = context.signal?.reason;
  if (reason !== SHUTDOWN && reason !== LOCK_LOST) return false;
  await lapseLease(deps.db, lease, reason);
  log.info({ reason }, "attempt handed back to run again");
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

/** `final`: no retry, whatever the policy says (the budget is spent). */
type Outcome = { judgement: Judgement; fields: AttemptOutcome; final?: boolean };

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

  // 1. Say it is running (only while the lease is ours: a worker that lost it writes nothing).
  if (!(await leaseHeld(deps.db, lease)))
    throw new PermanentJobError("the lease was lost before the run began");
  await showStatus(
    deps.db,
    octokit,
    repo,
    task,
    statusViewOf(task, null, { agent: config.agent, maxAttempts: config.max_attempts }),
  );

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
  failpoint("after-worktree", repository.fullName);

  try {
    // 3. The agent, briefed, with the base branch's agent configuration, its own HOME, and no secrets.
    await pinAgentConfig(worktree, baseSha, signal);
    const earlier = await earlierAttempts(deps.db, task.id, attempt.number);
    const budget = remainingBudget(config.budget, spentSoFar(earlier));
    if (budget.exhausted) {
      return {
        judgement: {
          conclusion: "failure",
          state: "failed",
          reason: budget.why,
          summary: "The agent did not run.",
        },
        fields: { baseSha },
        final: true,
      };
    }
    const prompt = buildPrompt(
      await gatherPromptInput(deps, { task, attempt, repository, issue, config, octokit }),
    );
    const workDir = path.join(home, "runs", runName);
    const agentHome = path.join(workDir, "home");
    await mkdir(agentHome, { recursive: true });
    const env = { ...agentEnvironment(process.env, deps.env.DROVER_AGENT_ENV), HOME: agentHome };
    const runAs = await agentUser(deps);
    if (runAs) {
      await chownTree(worktree, runAs.uid, runAs.gid);
      await chownTree(workDir, runAs.uid, runAs.gid);
    }
    const timeoutMs = Math.min(config.task_timeout, budget.timeMs ?? Infinity);
    log.info({ agents: config.agent, timeoutMs }, "agent starting");
    let result = await runAgent({
      agent: config.agent,
      previousAttempts: earlier.flatMap((a) =>
        a.agent && a.agentOutcome ? [{ agent: a.agent, outcome: a.agentOutcome as AgentOutcome }] : [],
      ),
      agentCommand: config.agent_command === undefined ? undefined : parseArgv(config.agent_command),
      agentArgs: config.agent_args,
      prompt,
      cwd: worktree,
      workDir,
      timeoutMs,
      signal,
      env,
      runAs,
      onSpawn: (pid) =>
        void recordStep(deps.db, attempt.id, `agent-process-e${lease.epoch}`, {
          host: os.hostname(),
          pid,
        }).catch(() => {}),
    });
    log.info(
      { agent: result.agent, outcome: result.outcome, exitCode: result.exitCode, ms: result.durationMs },
      "agent finished",
    );
    failpoint("after-agent", repository.fullName);

    // 4. Commit what changed, credited to the issue's author.
    if (runAs) await chownTree(worktree, process.getuid?.() ?? 0, process.getgid?.() ?? 0);
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

    // 5. Judge: the agent's run, then the repository's checks (run only on a run that would pass).
    result = scrubRun(result, [token, ...secretValues(process.env), ...secretValues(env)]);
    let judgement = judge({ ...result, changed: commit.changed, timeoutMs });
    let checks: CheckResult[] = [];
    if (judgement.state === "review" && checkCommands(config).length > 0) {
      if (runAs) await chownTree(worktree, runAs.uid, runAs.gid);
      checks = [];
      for (const { command, timeoutMs: limit } of checkCommands(config)) {
        const [one] = await runChecks({
          commands: [command],
          cwd: worktree,
          env,
          timeoutMs: limit,
          signal,
          runAs,
        });
        if (one) checks.push({ ...one, outputTail: scrubSecrets(one.outputTail, [token]) });
      }
      if (runAs) await chownTree(worktree, process.getuid?.() ?? 0, process.getgid?.() ?? 0);
      judgement = withChecks(judgement, checks);
    }
    if (budget.timeMs !== undefined && result.outcome === "timed-out" && timeoutMs < config.task_timeout) {
      judgement = {
        ...judgement,
        reason: `the task's time budget ran out (${formatDuration(budget.timeMs)} left for this attempt)`,
      };
    }
    const fields: AttemptOutcome = {
      verdict: result.verdict,
      verdictProblem: result.verdict ? null : (result.verdictProblem ?? "no drover-verdict block"),
      logTail: result.logTail,
      baseSha,
      durationMs: result.durationMs,
      costUsd: result.costUsd === undefined ? null : String(result.costUsd),
      turns: result.turns ?? null,
      inputTokens: result.inputTokens ?? null,
      outputTokens: result.outputTokens ?? null,
      sessionId: result.sessionId ?? null,
      agent: result.agent,
      agentOutcome: result.outcome,
      checks,
      diffStat: commit.changed ? commit.diffStat : null,
    };

    // 6. The judgement is recorded (under the lease) before anything is pushed: a worker taking over after
    // a crash concludes from it instead of running the agent again and pushing a second commit.
    const partial = commit.changed && result.outcome === "timed-out";
    const pushing = commit.changed && (judgement.state === "review" || partial);
    if (pushing && judgement.state === "review") fields.headSha = commit.sha;
    else if (pushing)
      judgement = {
        ...judgement,
        reason: `${judgement.reason}; its partial work is on \`${task.branch}\` at ${commit.sha.slice(0, 12)}`,
      };
    const final =
      result.outcome === "timed-out" && budget.timeMs !== undefined && timeoutMs < config.task_timeout;
    const outcome: Outcome = { judgement, fields, ...(final ? { final } : {}) };
    const judged: Judged = { outcome, push: pushing ? { sha: commit.sha } : null };
    if (!(await recordStepUnderLease(deps.db, lease, JUDGED, judged))) return stopped(outcome);
    failpoint("after-judge", repository.fullName);

    // 7. Push, with Drover's token, once, and only while this worker holds the lease: a passing result
    // for review, or the partial work of a run stopped by its time limit or budget.
    if (pushing) {
      if (!(await leaseHeld(deps.db, lease))) return stopped(outcome);
      await pushBranch({
        mirror,
        cloneUrl: repository.cloneUrl,
        branch: task.branch,
        sha: commit.sha,
        token,
        ...(signal ? { signal } : {}),
      });
      await recordStep(deps.db, attempt.id, "push", { sha: commit.sha, branch: task.branch });
      failpoint("after-push", repository.fullName);
    }
    return outcome;
  } finally {
    await removeWorktree(mirror, worktree);
  }
}

/** The step recorded once an attempt is judged: its outcome, and the commit it is about to push. */
const JUDGED = "judged";
type Judged = { outcome: Outcome; push: { sha: string } | null };

/** Closed, cancelled or restarted while the agent ran, or another worker took over: nothing is pushed. */
function stopped({ judgement, fields }: Outcome): Outcome {
  const reason = "the task was stopped while the agent ran; nothing was pushed";
  return {
    judgement: { ...judgement, conclusion: "neutral", state: "cancelled", reason },
    fields: { ...fields, headSha: null },
  };
}

/**
 * The outcome a crashed worker recorded before it died, when nothing is left to do but push (if it had not
 * yet) and conclude; undefined when its push never reached the remote, so the attempt runs again.
 */
async function resumeJudged(
  deps: JobDeps,
  run: { task: Task; attempt: Attempt; repository: Repository },
  judged: Judged,
  signal: AbortSignal | undefined,
  log: JobDeps["log"],
): Promise<Outcome | undefined> {
  const { task, attempt, repository } = run;
  const sha = judged.push?.sha;
  if (sha !== undefined && (await getStep<{ sha: string }>(deps.db, attempt.id, "push"))?.sha !== sha) {
    // The worker may have died between pushing and recording it: ask the remote.
    const token = await deps.github.token(repository.installationId);
    const mirror = await ensureMirror({
      home: path.resolve(deps.env.DROVER_HOME),
      repoFullName: repository.fullName,
      cloneUrl: repository.cloneUrl,
      token,
      ...(signal ? { signal } : {}),
    });
    const remote = await remoteBranchSha({
      mirror,
      cloneUrl: repository.cloneUrl,
      branch: task.branch,
      token,
      ...(signal ? { signal } : {}),
    });
    if (remote !== sha) return undefined;
    await recordStep(deps.db, attempt.id, "push", { sha, branch: task.branch });
  }
  log.info({ sha }, "concluding from the judgement recorded before the worker stopped");
  return judged.outcome;
}

let cachedAgentUser: Promise<AgentUser | undefined> | undefined;

/** DROVER_AGENT_USER, resolved once per process; a bad value fails the attempt with what to fix. */
async function agentUser(deps: JobDeps): Promise<AgentUser | undefined> {
  const spec = deps.env.DROVER_AGENT_USER;
  if (!spec) return undefined;
  cachedAgentUser ??= resolveAgentUser(spec);
  try {
    return await cachedAgentUser;
  } catch (error) {
    cachedAgentUser = undefined;
    throw new PermanentJobError((error as Error).message);
  }
}

/** Secrets out of everything of the run that is stored, logged or posted. */
function scrubRun(result: AgentRunResult, known: string[]): AgentRunResult {
  const clean = (text: string) => scrubSecrets(text, known);
  return {
    ...result,
    logTail: clean(result.logTail),
    finalMessage: clean(result.finalMessage),
    ...(result.agentError === undefined ? {} : { agentError: clean(result.agentError) }),
    ...(result.error === undefined ? {} : { error: clean(result.error) }),
    verdict: result.verdict && {
      ...result.verdict,
      summary: clean(result.verdict.summary),
      ...(result.verdict.blocker === undefined ? {} : { blocker: clean(result.verdict.blocker) }),
    },
  };
}

/**
 * After a crash, the agent the dead worker started may still be running on this machine (it leads its
 * own process group, so it outlived its parent): stop it before running the attempt again.
 */
async function stopOrphans(deps: JobDeps, attemptId: number, epoch: number, log: JobDeps["log"]) {
  for (let earlier = 1; earlier < epoch; earlier++) {
    const spawned = await getStep<{ host: string; pid: number }>(
      deps.db,
      attemptId,
      `agent-process-e${earlier}`,
    );
    if (!spawned || spawned.host !== os.hostname()) continue;
    try {
      process.kill(-spawned.pid, "SIGKILL");
      log.warn({ pid: spawned.pid, epoch: earlier }, "stopped an agent left running by a crashed worker");
    } catch {
      // Already gone.
    }
  }
}

/**
 * Records the outcome and moves the task on (one transaction, only if the lease still holds), then hands
 * over to publish. Should this worker die before queueing publish, the watchdog queues it.
 */
async function conclude(
  deps: JobDeps,
  run: { task: Task; lease: Lease; repository: Repository },
  outcome: Outcome,
): Promise<void> {
  const { judgement, fields } = outcome;
  const config = run.task.config as DroverConfig;
  const retry = retryDecision({
    attemptNumber: run.task.attemptCount,
    maxAttempts: config.max_attempts,
    state: judgement.state,
    // Another agent of the failover list can start at once; the same one waits out its backoff.
    baseDelayMs: judgement.failoverTo ? 0 : (config.retry_delay ?? 60_000),
    now: Date.now(),
    random: Math.random(),
  });
  let move: TaskMove;
  if (retry.retry && !outcome.final) {
    move = {
      from: ["running"],
      to: "retrying",
      fields: { stateReason: judgement.reason, nextAttemptAt: retry.nextAttemptAt },
      event: {
        type: "task.retrying",
        data: {
          reason: judgement.reason,
          attempt: run.task.attemptCount,
          nextAttemptAt: retry.nextAttemptAt,
        },
      },
    };
  } else {
    const state = judgement.state;
    const reason =
      state === "failed" && run.task.attemptCount > 1 && !outcome.final
        ? `${judgement.reason} (attempt ${run.task.attemptCount} of ${config.max_attempts}; no tries left)`
        : judgement.reason;
    move = {
      from: ["running"],
      to: state,
      fields: { stateReason: reason, nextAttemptAt: null },
      event: { type: `task.${state === "review" ? "completed" : state}`, data: { reason } },
    };
  }
  const recorded = await concludeAttempt(
    deps.db,
    run.lease,
    { ...fields, conclusion: judgement.conclusion, reason: judgement.reason, summary: judgement.summary },
    move,
  );
  if (!recorded) return; // another worker holds the attempt now; it will conclude it
  failpoint("after-conclude", run.repository.fullName);
  await deps.enqueue("publish", { attemptId: run.lease.attemptId });
  await requestSchedule(deps);
}
