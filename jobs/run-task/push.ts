import path from "node:path";
import { getStep, leaseHeld, recordStep, recordStepUnderLease } from "../../src/db/attempts.ts";
import { pushBranch, remoteBranchSha } from "../../src/git/push.ts";
import { failpoint } from "../../src/lib/failpoint.ts";
import type { JobDeps } from "../deps.ts";
import { STEPS, type Judged, type Outcome, type Run } from "./run.ts";
import { freshMirror, type Workspace } from "./worktree.ts";

/**
 * Step 7: the judgement is recorded under the lease, then the branch is pushed with Drover's token, once,
 * and only while this worker holds the lease. A worker that lost the lease pushes nothing.
 */
export async function recordAndPush(
  deps: JobDeps,
  run: Run,
  work: Workspace,
  judged: Judged,
  signal: AbortSignal | undefined,
): Promise<Outcome> {
  const { lease, task, repository } = run;
  if (!(await recordStepUnderLease(deps.db, lease, STEPS.judged.name, judged)))
    return stopped(judged.outcome);
  failpoint("after-judge", repository.fullName);
  if (!judged.push) return judged.outcome;
  if (!(await leaseHeld(deps.db, lease))) return stopped(judged.outcome);
  const { sha } = judged.push;
  await pushBranch({
    mirror: work.mirror,
    cloneUrl: repository.cloneUrl,
    branch: task.branch,
    sha,
    token: work.token,
    ...(signal ? { signal } : {}),
  });
  await recordStep(deps.db, run.attempt.id, STEPS.push.name, { sha, branch: task.branch });
  failpoint("after-push", repository.fullName);
  return judged.outcome;
}

/** Closed, cancelled or restarted while the agent ran, or another worker took over: nothing is pushed. */
function stopped({ judgement, fields }: Outcome): Outcome {
  const reason = "the task was stopped while the agent ran; nothing was pushed";
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
