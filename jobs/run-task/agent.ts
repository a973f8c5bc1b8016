import { annotate, traced } from "../../src/lib/trace.ts";
import { mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { getAdapter } from "../../src/agent/adapters/index.ts";
import { agentEnvironment } from "../../src/agent/env.ts";
import { agentForAttempt } from "../../src/agent/failover.ts";
import { AgentCredentialsError, prepareAgentHome } from "../../src/agent/home.ts";
import { chownTree, resolveAgentUser, type AgentUser } from "../../src/agent/os-user.ts";
import { parseArgv } from "../../src/agent/parse-argv.ts";
import { buildPrompt, type PromptMerge } from "../../src/agent/prompt.ts";
import { runAgent, type AgentRunResult } from "../../src/agent/run-agent.ts";
import { relativizePaths, scrubSecrets, secretValues, type ServerPath } from "../../src/agent/scrub.ts";
import { packageCacheEnv } from "../../src/agent/setup.ts";
import type { earlierAttempts } from "../../src/db/attempts.ts";
import { recordStep } from "../../src/db/attempts.ts";
import type { IssueFacts } from "../../src/github/read-issues.ts";
import type { Octokit } from "../../src/github/types.ts";
import { failpoint } from "../../src/lib/failpoint.ts";
import { PermanentJobError } from "../../src/queue/queue.ts";
import type { JobDeps } from "../deps.ts";
import { gatherPromptInput } from "../prompt-context.ts";
import { hintsOf } from "../../src/db/hints.ts";
import { giveHintsLive } from "./live-hints.ts";
import { workPaths } from "./paths.ts";
import { STEPS, type Run } from "./run.ts";
import type { Workspace } from "./worktree.ts";

/** The agent's run, with what its checks run under too. */
export type AgentRun = {
  /** Secrets scrubbed from everything it printed. */
  result: AgentRunResult;
  env: Record<string, string>;
  runAs: AgentUser | undefined;
  timeoutMs: number;
};

/**
 * Between SIGTERM and SIGKILL to the agent's process group. A person's stop must end it within 5 s: the
 * task is looked at every second (WATCH_MS), and this leaves a margin.
 */
const KILL_GRACE_MS = 2_000;

/**
 * Step 3: the agent, briefed, in the worktree, with its own HOME, an allowlisted environment (no
 * secrets), as DROVER_AGENT_USER when set, within `task_timeout` and what is left of the budget.
 */
export async function runAgentIn(
  deps: JobDeps,
  run: Run,
  work: Workspace,
  brief: {
    issue: IssueFacts;
    octokit: Octokit;
    earlier: Awaited<ReturnType<typeof earlierAttempts>>;
    budgetMs: number | undefined;
    /** A merge of the base stopped by conflicts: the agent is asked to resolve them. */
    merge?: PromptMerge;
  },
  signal: AbortSignal | undefined,
): Promise<AgentRun> {
  const { task, attempt, lease, repository, config, log } = run;
  // The hints the prompt shows; any recorded after them reach a running agent that reads input live.
  const hints = await hintsOf(deps.db, task.id);
  const hintsBefore = Math.max(0, ...hints.map((hint) => hint.id));
  const gathered = await gatherPromptInput(deps, {
    task,
    attempt,
    repository,
    config,
    issue: brief.issue,
    octokit: brief.octokit,
    hints,
  });
  const prompt = buildPrompt(brief.merge ? { ...gathered, merge: brief.merge } : gathered);
  const previousAttempts = brief.earlier.flatMap((a) =>
    a.agent && a.agentOutcome ? [{ agent: a.agent, outcome: a.agentOutcome }] : [],
  );
  const agent = agentForAttempt(config.agent, previousAttempts);
  const { workDir, env, runAs, home } = await agentSurroundings(deps, work, agent);
  const timeoutMs = Math.min(config.task_timeout, brief.budgetMs ?? Infinity);
  log.info({ agents: config.agent, agent, timeoutMs }, "agent starting");
  let stopHints = () => {};
  const ran = () =>
    runAgent({
      agent: config.agent,
      previousAttempts,
      agentCommand: config.agent_command === undefined ? undefined : parseArgv(config.agent_command),
      agentArgs: config.agent_args,
      prompt,
      cwd: work.path,
      workDir,
      timeoutMs,
      idleTimeoutMs: config.agent_idle_timeout,
      signal,
      killGraceMs: KILL_GRACE_MS,
      env,
      runAs,
      onSpawn: (pid) =>
        void recordStep(deps.db, attempt.id, STEPS.agentProcess(lease.epoch).name, {
          host: os.hostname(),
          pid,
        }).catch(() => {}),
      onLive: (deliver) => (stopHints = giveHintsLive(deps, run, deliver, hintsBefore)),
    }).finally(async () => {
      stopHints();
      await home.cleanup();
    });
  // The agent that ran may be a later one of a failover list than the one first picked.
  const result = await traced("drover.agent", { "drover.agent": agent }, async () => {
    const ended = await ran();
    annotate({ "drover.agent": ended.agent, "drover.outcome": ended.outcome });
    return ended;
  });
  log.info(
    { agent: result.agent, outcome: result.outcome, exitCode: result.exitCode, ms: result.durationMs },
    "agent finished",
  );
  failpoint("after-agent", repository.fullName);
  if (runAs) await chownTree(work.path, process.getuid?.() ?? 0, process.getgid?.() ?? 0);
  const known = [work.token, ...secretValues(process.env), ...secretValues(env), ...home.secrets];
  return { result: scrubRun(result, known, await workPaths(work)), env, runAs, timeoutMs };
}

/**
 * The agent's own directory (prompt, log, HOME with its credential files and shared caches), its
 * environment, and the OS user it runs as.
 */
async function agentSurroundings(deps: JobDeps, work: Workspace, agent: string) {
  const workDir = path.join(work.home, "runs", work.runName);
  const agentHome = path.join(workDir, "home");
  // The repository's package caches, as its setup had them: a retry downloads nothing it already has.
  const caches = packageCacheEnv(work.home, work.slot.repoFullName);
  const env = { ...agentEnvironment(process.env, deps.env.DROVER_AGENT_ENV), ...caches, HOME: agentHome };
  const runAs = await agentUser(deps);
  const workerHome = os.homedir();
  let home;
  try {
    home = await prepareAgentHome({
      home: agentHome,
      cacheDirs: getAdapter(agent)?.cacheDirs ?? [],
      cacheRoot: path.join(work.home, "agent-cache", agent),
      credentials: (deps.env.DROVER_AGENT_CREDENTIALS ?? []).map((file) => expandHome(file, workerHome)),
      workerHome,
      runAs,
    });
  } catch (error) {
    if (error instanceof AgentCredentialsError) throw new PermanentJobError(error.message);
    throw error;
  }
  if (runAs) {
    try {
      await chownTree(work.path, runAs.uid, runAs.gid);
      await chownTree(workDir, runAs.uid, runAs.gid);
    } catch (error) {
      await home.cleanup();
      throw error;
    }
  }
  return { workDir, env, runAs, home };
}

/**
 * Where the repository's checks run when no agent ran before them (a merge of the base that needed none):
 * the agent's environment, with a HOME of its own, as the agent's OS user.
 */
export async function checkSurroundings(
  deps: JobDeps,
  work: Workspace,
): Promise<Pick<AgentRun, "env" | "runAs">> {
  const home = path.join(work.home, "runs", work.runName, "home");
  await mkdir(home, { recursive: true });
  const runAs = await agentUser(deps);
  if (runAs) await chownTree(path.dirname(home), runAs.uid, runAs.gid);
  return { env: { ...agentEnvironment(process.env, deps.env.DROVER_AGENT_ENV), HOME: home }, runAs };
}

/** `~/x` as a path under the worker's HOME. */
export function expandHome(file: string, workerHome: string): string {
  return file === "~" || file.startsWith("~/") ? path.join(workerHome, file.slice(1)) : path.resolve(file);
}

let cachedAgentUser: Promise<AgentUser | undefined> | undefined;

/**
 * DROVER_AGENT_USER, resolved once per process, for the agent, its checks and the repository's setup; a
 * bad value fails the attempt with what to fix.
 */
export async function agentUser(deps: JobDeps): Promise<AgentUser | undefined> {
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

/**
 * Secrets out of everything of the run that is stored, logged or posted, and the worker's paths (the
 * worktree reads as `.`, DROVER_HOME and HOME as placeholders): the machine's layout is not posted.
 */
function scrubRun(result: AgentRunResult, known: string[], paths: readonly ServerPath[]): AgentRunResult {
  const clean = (text: string) => relativizePaths(scrubSecrets(text, known), paths);
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
