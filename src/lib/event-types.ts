/*
 * Kept in src/lib so that drover.yml's `notify` (src/config) can check the types it names against them;
 * src/db/events.ts re-exports them beside the events.
 */

/**
 * What happened to tasks, as people and programs read it (the API, `drover stream`, the dashboard, outgoing
 * webhooks). Written in the transaction of the change it records: a task's state changes, its pull request
 * opened, its resolution and its hints by triggers (migration 0016), everything else by `recordEvent`.
 *
 * State moves are named by where they go (and, into `ready`, where from):
 *   task.ready       new, relabelled, or its retry is due     task.waiting    a blocker is open
 *   task.unblocked   waiting → ready (its blockers are done)  task.queued     on the queue
 *   task.started     an attempt is running                    task.review     its pull request is open
 *   task.completed   done (merged, or closed as completed)    task.failed     attempts used up
 *   task.blocked     the agent needs a person                 task.retrying   another attempt after backoff
 *   task.retried     a person started it again (retry, label) task.cancelled / task.paused / task.resumed
 *   task.conflict    its pull request conflicts with the base
 * Others: task.hinted, task.resolved, pr.opened, pr.updated, pr.merged, pr.closed, pr.approved, task.rework,
 * attempt.stopped, task.interrupted, base.moved, pr.auto-merge, pr.merged-by-drover.
 */
export const EVENT_TYPES = [
  "task.ready",
  "task.waiting",
  "task.unblocked",
  "task.queued",
  "task.started",
  "task.review",
  "task.completed",
  "task.failed",
  "task.blocked",
  "task.retrying",
  "task.retried",
  "task.cancelled",
  "task.paused",
  "task.resumed",
  "task.conflict",
  "task.hinted",
  "task.resolved",
  "task.rework",
  "task.interrupted",
  "attempt.stopped",
  "pr.opened",
  "pr.updated",
  "pr.merged",
  "pr.closed",
  "pr.approved",
  "pr.auto-merge",
  "pr.merged-by-drover",
  "base.moved",
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** The families of `EVENT_TYPES` (`task` for every `task.*`): a reader may name one for all its types. */
export const EVENT_FAMILIES = [...new Set(EVENT_TYPES.map((type) => type.split(".")[0] ?? type))];
