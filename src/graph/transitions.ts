import type { TaskState } from "./model.ts";

/**
 * Which state a task may move to from which. Pure; the db layer applies a change only when the row is
 * still in one of the `from` states the caller expects, so two workers racing cannot both win.
 */
const ALLOWED: Record<TaskState, readonly TaskState[]> = {
  waiting: ["ready", "cancelled", "paused", "done"],
  ready: ["queued", "waiting", "cancelled", "paused", "done"],
  queued: ["running", "ready", "waiting", "cancelled", "paused", "done"],
  // running → ready: `/drover hint --restart` (the running attempt stops, keeping its work; the next one
  // waits for it to finish before it is queued).
  running: ["review", "failed", "blocked", "retrying", "cancelled", "paused", "done", "ready", "conflict"],
  // review → ready: a rework, or a conflict with the base branch given to the agent to resolve; review →
  // conflict: one that may not be given to it (max_conflict_attempts reached).
  review: ["done", "ready", "cancelled", "conflict"],
  // conflict → review: the pull request merges cleanly again (a person resolved it, or the base moved on).
  conflict: ["review", "ready", "done", "cancelled"],
  blocked: ["ready", "cancelled", "done"],
  retrying: ["ready", "cancelled", "paused", "done"],
  failed: ["ready", "cancelled", "done"],
  cancelled: ["ready", "done"],
  paused: ["ready", "cancelled", "done"],
  done: ["ready"],
};

export function canTransition(from: TaskState, to: TaskState): boolean {
  return ALLOWED[from].includes(to);
}

/** The states a task may be in for a move to `to`. */
export function statesLeadingTo(to: TaskState): TaskState[] {
  return (Object.keys(ALLOWED) as TaskState[]).filter((from) => ALLOWED[from].includes(to));
}

/** States in which a new trigger (label, `/drover run`) starts a fresh attempt. */
export const TRIGGERABLE: readonly TaskState[] = [
  "failed",
  "blocked",
  "cancelled",
  "done",
  "review",
  "conflict",
];

/** States in which Drover is already working on the task: a trigger is acknowledged, nothing more. */
export const ACTIVE: readonly TaskState[] = ["waiting", "ready", "queued", "running", "retrying", "paused"];

/**
 * The GitHub label mirroring each state, for the states that want a person's eye or a filter: a task
 * queued or running carries none (its status comment says so). A label is a content write, and GitHub
 * allows an installation 500 of those an hour: a label for running would cost one of the six a task may
 * spend, to show what the comment already shows.
 */
export const STATE_LABELS: Partial<Record<TaskState, string>> = {
  review: "drover:review",
  conflict: "drover:conflict",
  blocked: "drover:blocked",
  failed: "drover:failed",
  cancelled: "drover:cancelled",
  paused: "drover:paused",
};

/**
 * State labels older Drover versions set and this one no longer does (`drover:running`): still managed, so
 * one left on an issue goes at the task's next change of state.
 */
export const LEGACY_STATE_LABELS: readonly string[] = ["drover:running"];

export const ALL_STATE_LABELS = [...new Set(Object.values(STATE_LABELS))];

/** Carried by every issue on a dependency cycle, until the cycle is broken. */
export const CYCLE_LABEL = "drover:cycle";
