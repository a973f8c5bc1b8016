import { realpath } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { relativizePaths, serverPaths, type ServerPath } from "../../src/agent/scrub.ts";
import type { AgentVerdict } from "../../src/db/run-results.ts";
import type { Outcome } from "./run.ts";
import type { Workspace } from "./worktree.ts";

/**
 * The worker's absolute paths an attempt's output may name (see serverPaths): the worktree, the run
 * directory, DROVER_HOME and the worker's HOME, each also as its real path when a symlink leads there
 * (a program's `pwd` prints the real one).
 */
export async function workPaths(
  work: Pick<Workspace, "home" | "path" | "runName">,
  agentHome?: string,
): Promise<ServerPath[]> {
  return withRealPaths(
    serverPaths({
      worktree: work.path,
      runDir: agentHome ? path.dirname(agentHome) : path.join(work.home, "runs", work.runName),
      droverHome: work.home,
      workerHome: os.homedir(),
    }),
  );
}

/** DROVER_HOME and the worker's HOME, for text made where no worktree is known (an error's message). */
export async function homePaths(droverHome: string): Promise<ServerPath[]> {
  return withRealPaths(serverPaths({ droverHome: path.resolve(droverHome), workerHome: os.homedir() }));
}

async function withRealPaths(paths: ServerPath[]): Promise<ServerPath[]> {
  const real = await Promise.all(
    paths.map(async ({ path: where, shownAs }) => {
      const resolved = await realpath(where).catch(() => where);
      return resolved === where ? [] : [{ path: resolved, shownAs }];
    }),
  );
  return [...paths, ...real.flat()];
}

/**
 * An outcome as it may be posted: the worker's `paths` out of everything of it that reaches an issue, a
 * check run or a pull request (its reason and summary, the agent's verdict and log tail, the checks'
 * output). Pure.
 */
export function relativizeOutcome(outcome: Outcome, paths: readonly ServerPath[]): Outcome {
  const clean = (text: string) => relativizePaths(text, paths);
  const { judgement, fields } = outcome;
  const { verdict, checks, logTail, verdictProblem } = fields;
  return {
    ...outcome,
    judgement: { ...judgement, reason: clean(judgement.reason), summary: clean(judgement.summary) },
    fields: {
      ...fields,
      ...(typeof logTail === "string" ? { logTail: clean(logTail) } : {}),
      ...(typeof verdictProblem === "string" ? { verdictProblem: clean(verdictProblem) } : {}),
      ...(verdict ? { verdict: cleanVerdict(verdict, clean) } : {}),
      ...(checks
        ? { checks: checks.map((check) => ({ ...check, outputTail: clean(check.outputTail) })) }
        : {}),
    },
  };
}

function cleanVerdict(verdict: AgentVerdict, clean: (text: string) => string): AgentVerdict {
  const { blocker } = verdict;
  return {
    ...verdict,
    summary: clean(verdict.summary),
    ...(blocker === undefined ? {} : { blocker: clean(blocker) }),
  };
}
