import { runChecks, type CheckResult } from "../../src/agent/checks.ts";
import { formatDuration } from "../../src/agent/format-duration.ts";
import { chownTree } from "../../src/agent/os-user.ts";
import { judge, withChecks, type Judgement } from "../../src/agent/judge.ts";
import { relativizePaths, scrubSecrets } from "../../src/agent/scrub.ts";
import { checkCommands } from "../../src/config/schema.ts";
import type { AttemptOutcome } from "../../src/db/attempt-record.ts";
import type { CommitResult } from "../../src/git/commit.ts";
import type { AgentRun } from "./agent.ts";
import { workPaths } from "./paths.ts";
import type { Judged, Run } from "./run.ts";
import type { TimingsRecorder } from "./timings.ts";
import type { Workspace } from "./worktree.ts";

/**
 * Steps 5 and 6: the repository's checks (only on a run that would pass), then the judgement of the run:
 * how the agent ended, its verdict, whether it changed anything, the checks, and the budget. Says what
 * to push: a passing result for review, or the partial work of a run stopped by its time limit or budget.
 */
export async function judgeRun(
  run: Run,
  work: Workspace,
  ran: AgentRun & { budgetMs: number | undefined },
  commit: CommitResult,
  signal: AbortSignal | undefined,
  timings?: TimingsRecorder,
): Promise<Judged> {
  const { result, timeoutMs } = ran;
  let judgement = judge({ ...result, changed: commit.changed, timeoutMs });
  const checks = judgement.state === "review" ? await checksOf(run, work, ran, signal, timings) : [];
  judgement = checks.length > 0 ? withChecks(judgement, checks) : judgement;
  // Stopped by the budget rather than task_timeout: no retry, which would only spend more.
  const budgetSpent =
    result.outcome === "timed-out" && ran.budgetMs !== undefined && timeoutMs < run.config.task_timeout;
  if (budgetSpent) {
    const left = formatDuration(ran.budgetMs ?? 0);
    judgement = { ...judgement, reason: `the task's time budget ran out (${left} left for this attempt)` };
  }
  const fields: AttemptOutcome = {
    ...agentRunFields(result),
    baseSha: work.baseBranchSha,
    checks,
    diffStat: commit.changed ? commit.diffStat : null,
  };
  const partial = commit.changed && result.outcome === "timed-out";
  if (!commit.changed || (judgement.state !== "review" && !partial))
    return { outcome: outcomeOf(judgement, fields, budgetSpent), push: null };
  if (judgement.state === "review") fields.headSha = commit.sha;
  else judgement = { ...judgement, reason: `${judgement.reason}; ${partialWorkAt(run, commit.sha)}` };
  return { outcome: outcomeOf(judgement, fields, budgetSpent), push: { sha: commit.sha } };
}

/** What the attempt records of its agent's run. */
export function agentRunFields(result: AgentRun["result"]): AttemptOutcome {
  return {
    verdict: result.verdict,
    verdictProblem: result.verdict ? null : (result.verdictProblem ?? "no drover-verdict block"),
    logTail: result.logTail,
    durationMs: result.durationMs,
    costUsd: result.costUsd === undefined ? null : String(result.costUsd),
    turns: result.turns ?? null,
    inputTokens: result.inputTokens ?? null,
    outputTokens: result.outputTokens ?? null,
    sessionId: result.sessionId ?? null,
    agent: result.agent,
    agentOutcome: result.outcome,
  };
}

function outcomeOf(judgement: Judgement, fields: AttemptOutcome, final: boolean): Judged["outcome"] {
  return { judgement, fields, ...(final ? { final } : {}) };
}

function partialWorkAt(run: Run, sha: string): string {
  return `its partial work is on \`${run.task.branch}\` at ${sha.slice(0, 12)}`;
}

/**
 * Every check of drover.yml, each within its own time limit, as the agent's user, in its environment,
 * timed as the `checks` phase when there are any. Their output tails are posted: secrets and the worker's
 * paths are taken out of them (the worktree reads as `.`).
 */
export async function checksOf(
  run: Run,
  work: Workspace,
  ran: Pick<AgentRun, "env" | "runAs">,
  signal: AbortSignal | undefined,
  timings?: TimingsRecorder,
): Promise<CheckResult[]> {
  const checks = checkCommands(run.config);
  if (checks.length === 0) return [];
  const runAll = async () => {
    if (ran.runAs) await chownTree(work.path, ran.runAs.uid, ran.runAs.gid);
    const results = await runChecks({ checks, cwd: work.path, env: ran.env, signal, runAs: ran.runAs });
    if (ran.runAs) await chownTree(work.path, process.getuid?.() ?? 0, process.getgid?.() ?? 0);
    return results;
  };
  const results = timings ? await timings.time("checks", runAll) : await runAll();
  const paths = await workPaths(work, ran.env.HOME);
  const clean = (text: string) => relativizePaths(scrubSecrets(text, [work.token]), paths);
  return results.map((one) => ({ ...one, outputTail: clean(one.outputTail) }));
}
