import type { Readiness } from "./graph.ts";
import type { IssueKey } from "./model.ts";

/**
 * Stacked work (drover.yml `stack: true`): the one blocker a waiting task may start on top of, or null.
 * Only when every other blocker is done and the one left is open and `canStackOn` says its work is ready
 * to build on (in the scheduler: a task in review whose latest attempt passed its checks). Two such
 * blockers would need their branches merged for the task to start: it waits, as a task that does not
 * stack does. A cycle never stacks.
 */
export function stackOnto(readiness: Readiness, canStackOn: (blocker: IssueKey) => boolean): IssueKey | null {
  if (readiness.kind !== "waiting" || readiness.on.length !== 1) return null;
  const [only] = readiness.on;
  if (!only || only.why !== "open") return null;
  return canStackOn(only.blocker) ? only.blocker : null;
}
