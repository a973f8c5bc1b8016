import type { AttemptOutcome } from "../../src/db/attempt-record.ts";
import { leaseMsOf, renewLease, watchAttempt, type AttemptWatch } from "../../src/db/attempts.ts";
import type { CommitResult } from "../../src/git/commit.ts";
import { BranchMovedError } from "../../src/git/push.ts";
import type { JobDeps } from "../deps.ts";
import type { AgentRun } from "./agent.ts";
import { agentRunFields } from "./judge.ts";
import { pushWork } from "./push.ts";
import type { Outcome, Run } from "./run.ts";
import type { Workspace } from "./worktree.ts";

/** How often a running attempt looks at its task: a person's stop takes effect within about this. */
export const WATCH_MS = 1_000;

/** A person stopped the task (see `watchAttempt`): what they made of it, and who they were. */
export type Stop = Extract<AttemptWatch, { kind: "stopped" }>;

/** Why a stopped attempt's signal aborted: neither a lost lease nor a shutdown. */
class TaskStopped extends Error {
  override name = "TaskStopped";
  constructor(readonly stop: Stop) {
    super(`the task was stopped (${stop.state})`);
  }
}

export type TaskWatch = {
  /** Aborts, with a TaskStopped reason, once the task is seen stopped. */
  signal: AbortSignal;
  /** The stop, once seen. */
  stopped: () => Stop | undefined;
  /** Looks now (between steps, or when a guarded write found the task moved on). */
  check: () => Promise<Stop | undefined>;
  release: () => void;
};

/**
 * Watches the attempt's task every WATCH_MS until `release`: once a person stops it, `signal` aborts so
 * the agent (and the checks) stop at once. Separate from the lease's renewal (every 5 s), which fences
 * off a worker that lost the attempt; this one only notices people.
 */
export function watchTask(deps: JobDeps, run: Run): TaskWatch {
  const controller = new AbortController();
  let stop: Stop | undefined;
  const see = (watch: AttemptWatch): Stop | undefined => {
    if (watch.kind !== "stopped" || stop) return stop;
    stop = watch;
    run.log.info({ state: watch.state, by: watch.by }, "task stopped while its attempt ran; stopping");
    controller.abort(new TaskStopped(watch));
    return stop;
  };
  let looking = false;
  const timer = setInterval(() => {
    if (looking || stop) return;
    looking = true;
    watchAttempt(deps.db, run.lease)
      .then(see, (error: unknown) => run.log.warn({ err: error }, "could not look at the task; trying again"))
      .finally(() => (looking = false));
  }, WATCH_MS);
  timer.unref();
  return {
    signal: controller.signal,
    stopped: () => stop,
    check: async () => stop ?? see(await watchAttempt(deps.db, run.lease)),
    release: () => clearInterval(timer),
  };
}

/** What an attempt did before it was stopped: its agent's run, and the commit of what it changed. */
export type DoneSoFar = { ran?: AgentRun; commit?: CommitResult };

/**
 * The end of an attempt a person stopped: what the agent changed so far is committed already (`commit`);
 * it is pushed to the task branch (by the same rule as a finished run's: over the commit it started
 * from, or forced when it started from the base branch), only while this worker holds the lease. The
 * outcome says who stopped it and where its work is; it leaves the task where the person put it.
 */
export async function keepStoppedWork(
  deps: JobDeps,
  run: Run,
  work: Workspace,
  stop: Stop,
  done: DoneSoFar,
  signal: AbortSignal | undefined,
): Promise<Outcome> {
  const { commit, ran } = done;
  let kept = "it had changed nothing";
  if (commit?.changed) {
    kept = await pushStopped(deps, run, work, commit.sha, signal);
  }
  const fields: AttemptOutcome = {
    ...(ran && agentRunFields(ran.result)),
    baseSha: work.baseBranchSha,
    headSha: null,
    diffStat: commit?.changed ? commit.diffStat : null,
  };
  return stoppedOutcome(stop, kept, fields);
}

/** An attempt a person stopped: neutral, saying who, why, and `kept` (what became of its work). */
export function stoppedOutcome(stop: Stop, kept: string, fields: AttemptOutcome = {}): Outcome {
  // "cancelled by @alice: not needed" says it all: neither the state nor the person twice.
  const who = stop.by && !stop.reason?.includes(`@${stop.by}`) ? ` by @${stop.by}` : "";
  const why = !stop.reason
    ? stop.state
    : stop.reason.startsWith(stop.state)
      ? stop.reason
      : `${stop.state}: ${stop.reason}`;
  return {
    judgement: {
      conclusion: "neutral",
      state: "cancelled",
      reason: `stopped${who} (${why}); ${kept}`,
      summary: "",
    },
    fields,
    stopped: true,
  };
}

async function pushStopped(
  deps: JobDeps,
  run: Run,
  work: Workspace,
  sha: string,
  signal: AbortSignal | undefined,
): Promise<string> {
  // The task no longer runs this attempt (a person stopped it), so `leaseHeld` says no: the lease alone
  // decides whether this worker may still push.
  if (!(await renewLease(deps.db, run.lease, leaseMsOf(deps.env))))
    return "another worker took it over; nothing was pushed";
  try {
    await pushWork(deps, run, work, sha, signal);
  } catch (error) {
    if (!(error instanceof BranchMovedError)) throw error;
    return `its work so far could not be pushed: ${error.message}`;
  }
  return `its work so far is on \`${run.task.branch}\` at ${sha.slice(0, 12)}`;
}
