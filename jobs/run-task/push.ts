import { traced } from "../../src/lib/trace.ts";
import path from "node:path";
import { getStep, leaseHeld, recordStep, recordStepUnderLease } from "../../src/db/attempts.ts";
import { BranchMovedError, pushBranch, remoteBranchSha } from "../../src/git/push.ts";
import { failpoint } from "../../src/lib/failpoint.ts";
import type { JobDeps } from "../deps.ts";
import { failed, STEPS, type Judged, type Outcome, type Run } from "./run.ts";
import type { Stop, TaskWatch } from "./stop.ts";
import { withTimings, type TimingsRecorder } from "./timings.ts";
import { freshMirror, type Workspace } from "./worktree.ts";

/**
 * Step 7: the judgement is recorded under the lease, then the branch is pushed with Drover's token, once,
 * and only while this worker holds the lease and its task still runs this attempt. A worker that lost
 * the lease pushes nothing; a task a person stopped meanwhile keeps the work as a stopped attempt does
 * (`stop.keep`). A branch that moved on GitHub since the attempt started from it is not overwritten:
 * the attempt fails saying so.
 */
export async function recordAndPush(
  deps: JobDeps,
  run: Run,
  work: Workspace,
  judged: Judged,
  stop: { watch: TaskWatch; keep: (stop: Stop) => Promise<Outcome> },
  signal: AbortSignal | undefined,
  timings?: TimingsRecorder,
): Promise<Outcome> {
  const { lease, repository } = run;
  const moved = async (): Promise<Outcome> => {
    const stopped = await stop.watch.check();
    return stopped ? stop.keep(stopped) : lost(judged.outcome);
  };
  // The time so far is part of the judgement recorded: a worker concluding it after a crash shows it too.
  const recorded = timings ? { ...judged, outcome: withTimings(judged.outcome, timings.read()) } : judged;
  if (!(await recordStepUnderLease(deps.db, lease, STEPS.judged.name, recorded))) return moved();
  failpoint("after-judge", repository.fullName);
  if (!judged.push) return judged.outcome;
  if (!(await leaseHeld(deps.db, lease))) return moved();
  const sha = judged.push.sha;
  const push = () => pushWork(deps, run, work, sha, signal);
  try {
    await (timings ? timings.time("push", push) : push());
  } catch (error) {
    if (!(error instanceof BranchMovedError)) throw error;
    // Final: a person pushed to the branch; they decide whether Drover goes on from there (`/drover retry`).
    const outcome = failed(error.message, { summary: judged.outcome.judgement.summary, final: true });
    return { ...outcome, fields: { ...judged.outcome.fields, headSha: null } };
  }
  failpoint("after-push", repository.fullName);
  return judged.outcome;
}

/**
 * Pushes `sha` to the task branch and records it: over the commit the attempt started from when it
 * started from the branch (a fast-forward, else BranchMovedError), forced when it started from base.
 */
export async function pushWork(
  deps: JobDeps,
  run: Run,
  work: Workspace,
  sha: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  const { task, repository } = run;
  const attributes = { "drover.branch": task.branch, "drover.sha": sha };
  await traced("drover.push", attributes, () =>
    pushBranch({
      mirror: work.mirror,
      cloneUrl: repository.cloneUrl,
      branch: task.branch,
      sha,
      token: work.token,
      ...(work.fromBranch === null ? {} : { expectedSha: work.fromBranch }),
      ...(signal ? { signal } : {}),
    }),
  );
  await recordStep(deps.db, run.attempt.id, STEPS.push.name, { sha, branch: task.branch });
}

/** Another worker took the attempt over: nothing is pushed (and concluding will record nothing either). */
function lost({ judgement, fields }: Outcome): Outcome {
  const reason = "another worker took the attempt over while the agent ran; nothing was pushed";
  return {
    judgement: { ...judgement, conclusion: "neutral", state: "cancelled", reason },
    fields: { ...fields, headSha: null },
  };
}

/**
 * After a takeover: the outcome the crashed worker recorded before it died, when nothing is left to do
 * but push (if it had not yet) and conclude; undefined when it judged nothing, or its push never reached
 * the remote, so the attempt runs again.
 */
export async function resumeJudged(
  deps: JobDeps,
  run: Run,
  signal: AbortSignal | undefined,
): Promise<Outcome | undefined> {
  const { task, attempt, lease, repository } = run;
  if (lease.epoch === 1) return undefined;
  const judged = await getStep(deps.db, attempt.id, STEPS.judged.name, STEPS.judged.schema);
  if (!judged) return undefined;
  const sha = judged.push?.sha;
  const pushed =
    sha === undefined ? undefined : await getStep(deps.db, attempt.id, STEPS.push.name, STEPS.push.schema);
  if (sha !== undefined && pushed?.sha !== sha) {
    // The worker may have died between pushing and recording it: ask the remote.
    const token = await deps.github.token(repository.installationId);
    const mirror = await freshMirror(path.resolve(deps.env.DROVER_HOME), repository, token, signal);
    const remote = await remoteBranchSha({
      mirror,
      cloneUrl: repository.cloneUrl,
      branch: task.branch,
      token,
      ...(signal ? { signal } : {}),
    });
    if (remote !== sha) return undefined;
    await recordStep(deps.db, attempt.id, STEPS.push.name, { sha, branch: task.branch });
  }
  run.log.info({ sha }, "concluding from the judgement recorded before the worker stopped");
  return judged.outcome;
}
