import type { PoolBounds, SetupCommand } from "../../src/config/schema.ts";

/** What the warm-pool job does for one repository on this machine, decided from what it found (pure). */

/** What the job found, under the repository's warm lock. */
export type WarmState = {
  /** The app was taken off the repository (or uninstalled): nothing is made for it any more. */
  removed: boolean;
  /** The base branch's tip in this machine's mirror; null when the mirror, or the branch in it, is missing. */
  mirrorTip: string | null;
  /**
   * The base branch's tip as the newest push webhook said (repositories.base_sha, kept for the default
   * branch only); null when none came, or the pool's base is another branch.
   */
  pushedTip: string | null;
  /** The job was queued by a push to the base branch. */
  pushed: boolean;
  /**
   * drover.yml's `setup` and `pool` as the repository's newest task recorded them; undefined when it has no
   * task (only installed) or its record cannot be read.
   */
  config: { setup?: SetupCommand | undefined; pool: PoolBounds } | undefined;
};

export type WarmPlan =
  | { kind: "nothing"; why: string }
  | {
      kind: "warm";
      /** Why the mirror is fetched first; null when it is current. */
      fetch: string | null;
      /** Whether the pool is advanced and filled after (false: the mirror alone, and why). */
      pool: true | { skipped: string };
    };

export function planWarm(state: WarmState): WarmPlan {
  if (state.removed) return { kind: "nothing", why: "the app was taken off the repository" };
  // With the newest push's tip known, the mirror is fetched only when it is not there yet (another job,
  // or a claim, may have fetched it since); unknown, a push is taken at its word.
  const behind = state.pushedTip === null ? state.pushed : state.pushedTip !== state.mirrorTip;
  const fetch =
    state.mirrorTip === null ? "the mirror is missing" : behind ? "a push moved the base branch" : null;
  // Without a task there is no drover.yml to go by (its `setup` above all), and a repository nobody gives
  // a task to holds no worktrees: its mirror alone is made ready.
  const pool = state.config === undefined ? { skipped: "no task has recorded drover.yml yet" } : true;
  return { kind: "warm", fetch, pool };
}
