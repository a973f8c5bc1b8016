import { changedFiles, commitLog } from "./git/history.ts";
import { isMergeable } from "./git/merge.ts";
import { resolveRef } from "./git/refs.ts";
import type { SandboxContext } from "./context.ts";
import type { PullRecord } from "./world.ts";

/**
 * A pull request's numbers from its branches as they are now: the commits on head that base lacks and the
 * diff from their merge base. Leaves `mergeable` as it is.
 */
export async function recount(bare: string, pull: PullRecord): Promise<void> {
  const [base, head] = await tips(bare, pull);
  if (base === null || head === null) return;
  const [diff, commits] = await Promise.all([changedFiles(bare, base, head), commitLog(bare, base, head)]);
  pull.stats = { ...diff, commits: commits.length };
}

/** `recount`, and whether head merges cleanly into base now: what GitHub works out when asked. */
export async function refreshPull(bare: string, pull: PullRecord): Promise<void> {
  const [base, head] = await tips(bare, pull);
  if (base === null || head === null) return;
  const [mergeable] = await Promise.all([isMergeable(bare, pull.base, pull.head), recount(bare, pull)]);
  pull.mergeable = mergeable;
}

/**
 * A pull request as one asks for it (REST by number, GraphQL's `mergeable`): mergeability worked out if it
 * is not known, and shown once GitHub's background job would have finished (at once by default).
 */
export async function workOutMergeable(ctx: SandboxContext, pull: PullRecord): Promise<PullRecord> {
  if (pull.mergeable === null && !pull.merged && pull.issue.state === "open") {
    await refreshPull(ctx.barePath(pull.issue.repo), pull);
    pull.mergeableShownFrom = Date.now() + ctx.mergeabilityDelayMs;
  }
  return pull;
}

/** `mergeable` as GitHub shows it now: null while unknown, and for a merged or closed pull request. */
export function shownMergeable(pull: PullRecord): boolean | null {
  const settled = pull.merged || pull.issue.state === "closed";
  const known = !settled && pull.mergeable !== null && (pull.mergeableShownFrom ?? 0) <= Date.now();
  return known ? pull.mergeable : null;
}

function tips(bare: string, pull: PullRecord): Promise<[string | null, string | null]> {
  return Promise.all([
    resolveRef(bare, `refs/heads/${pull.base}`),
    resolveRef(bare, `refs/heads/${pull.head}`),
  ]);
}
