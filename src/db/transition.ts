import type { TaskState } from "./schema.ts";
import { canTransition } from "../graph/transitions.ts";

/** A task state change the graph's rules do not allow: a bug in the caller, never retried. */
export class IllegalTransitionError extends Error {
  override name = "IllegalTransitionError";
}

/**
 * Every state change written to `tasks` whose states the caller chooses passes here first (staying in the
 * same state is no move). The rules are the pure graph's (`canTransition`); the write itself is still
 * guarded on the row's state. The fixed moves (ready → queued, queued → running, retrying → ready) are
 * checked against the same rules in their tests (test/unit/graph/transitions.test.ts).
 */
export function assertTransition(from: TaskState, to: TaskState): void {
  if (from !== to && !canTransition(from, to))
    throw new IllegalTransitionError(`a task cannot move from ${from} to ${to}`);
}
