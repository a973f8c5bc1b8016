import { changedFiles, commitLog } from "./git/history.ts";
import { isMergeable } from "./git/merge.ts";
import { resolveRef } from "./git/refs.ts";
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

function tips(bare: string, pull: PullRecord): Promise<[string | null, string | null]> {
  return Promise.all([
    resolveRef(bare, `refs/heads/${pull.base}`),
    resolveRef(bare, `refs/heads/${pull.head}`),
  ]);
}
