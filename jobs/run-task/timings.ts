import type { AttemptTimings } from "../../src/db/attempt-record.ts";
import type { Outcome } from "./run.ts";

/** A phase of an attempt whose time is measured here; `waiting` is read from the attempt's row instead. */
export type Phase = "worktree" | "setup" | "agent" | "checks" | "push";

/**
 * Where one attempt's time goes: the one place run-task measures it. Each phase is timed around the
 * step that makes it (`time`), so the steps themselves carry no clock arithmetic; a phase timed twice
 * (checks run twice, say) adds up. What it read goes into the outcome's `timings` (`withTimings`), which
 * conclude stores with the rest of the attempt.
 */
export type TimingsRecorder = {
  /** Runs `step`, adding how long it took (done or failed) to `phase`. */
  time: <T>(phase: Phase, step: () => Promise<T>) => Promise<T>;
  /**
   * Runs `open` (a worktree made or claimed) as the `worktree` phase. A workspace that says how long the
   * repository's `setup` took in it (`setupMs`) has that counted as `setup`, and not as `worktree` too.
   */
  worktree: <T extends { setupMs?: number | undefined }>(open: () => Promise<T>) => Promise<T>;
  /** What was measured so far, in whole ms; phases not reached are absent. */
  read: () => AttemptTimings;
};

const FIELDS = {
  worktree: "worktreeMs",
  setup: "setupMs",
  agent: "agentMs",
  checks: "checksMs",
  push: "pushMs",
} as const satisfies Record<Phase, keyof AttemptTimings>;

/**
 * A recorder for one attempt, starting with how long it waited for a worker (`waitingMs`, when known).
 * `clock` is for tests; it is a monotonic clock, so a wall clock set back never makes a phase negative.
 */
export function timingsRecorder(
  waitingMs: number | undefined,
  clock: () => number = () => performance.now(),
): TimingsRecorder {
  const spent = new Map<Phase, number>();
  const add = (phase: Phase, ms: number) => spent.set(phase, (spent.get(phase) ?? 0) + Math.max(0, ms));
  const time = async <T>(phase: Phase, step: () => Promise<T>): Promise<T> => {
    const started = clock();
    try {
      return await step();
    } finally {
      add(phase, clock() - started);
    }
  };
  return {
    time,
    async worktree(open) {
      const started = clock();
      const work = await open().catch((error: unknown) => {
        add("worktree", clock() - started);
        throw error;
      });
      const { setupMs } = work;
      add("worktree", clock() - started - (setupMs ?? 0));
      if (setupMs !== undefined) add("setup", setupMs);
      return work;
    },
    read() {
      const timings: AttemptTimings = waitingMs === undefined ? {} : { waitingMs: Math.round(waitingMs) };
      for (const [phase, ms] of spent) timings[FIELDS[phase]] = Math.round(ms);
      return timings;
    },
  };
}

/**
 * How long an attempt waited between being queued (its row made) and a worker first taking its lease;
 * undefined before it was taken. Both times are PostgreSQL's, so the worker's clock does not enter.
 */
export function waitingOf(attempt: { createdAt: Date; startedAt: Date | null }): number | undefined {
  if (attempt.startedAt === null) return undefined;
  return Math.max(0, attempt.startedAt.getTime() - attempt.createdAt.getTime());
}

/**
 * The outcome with `timings` in its fields: over what it carries already (a judgement recorded by a
 * worker that died before concluding, whose successor measured only its own part).
 */
export function withTimings(outcome: Outcome, timings: AttemptTimings): Outcome {
  const merged = { ...outcome.fields.timings, ...timings };
  return Object.keys(merged).length === 0
    ? outcome
    : { ...outcome, fields: { ...outcome.fields, timings: merged } };
}
