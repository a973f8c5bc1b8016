/**
 * What to remove from DROVER_HOME, decided from an inventory of it: pure, so every rule about what may
 * go (and what never does) is tested with plain data. src/git/disk.ts takes the inventory and applies the
 * plan.
 *
 * The rules, in order:
 * 1. Every pass: run directories older than DROVER_KEEP_RUNS, and what a crash left (a slot whose
 *    holder is gone or that was never finished, a worktree in `worktrees/`), unless something still uses it.
 * 2. `drover worktree prune --all`: also every idle pooled worktree, every finished run's directory, the
 *    package caches, and the mirrors of repositories Drover is no longer installed on.
 * 3. While DROVER_HOME holds more than DROVER_DISK_BUDGET: idle pooled worktrees and the mirrors of
 *    repositories Drover is no longer installed on (with their pools and caches), least recently used
 *    first; then run directories of finished attempts, oldest first. Those are all rebuilt on demand,
 *    while a run's logs are the only record of what its agent did, so they go last.
 * Never removed: a slot claimed by a live process, anything of an attempt still running, the mirror of a
 * repository Drover is installed on. When the budget cannot be met without those, the plan says so
 * (`overBudget`) and the caller warns.
 */

export type DiskItemKind = "slot" | "mirror" | "run" | "leftover" | "cache";

export type DiskItem = {
  kind: DiskItemKind;
  /** Its path relative to DROVER_HOME (`pool/octo/widgets/0a1b2c3d`, `runs/7-12-1-1`): unique. */
  key: string;
  /** Bytes on disk (0 when the inventory was not measured). */
  bytes: number;
  /** When it was last used, ms since the epoch: the least recently used goes first, runs expire by it. */
  lastUsed: number;
  /** Whether it may be removed now; when not, `keptBecause` says why. */
  removable: boolean;
  /** Why it may not be removed now, in words for a person (`claimed by attempt 7-12-1-1`). */
  keptBecause?: string;
  /** What a crash left (a stale or unfinished slot, a worktree in `worktrees/`): removed every pass. */
  garbage?: boolean;
  /** Keys of other items removed with this one: a mirror's pooled worktrees and package caches. */
  with?: string[];
};

export type DiskPlanOptions = {
  /** DROVER_DISK_BUDGET in bytes; undefined: no limit. */
  budget: number | undefined;
  /** DROVER_KEEP_RUNS in ms. */
  keepRunsMs: number;
  now: number;
  /** `prune --all`: every idle pooled worktree, finished run, cache and unused mirror. */
  all: boolean;
  /** Bytes under DROVER_HOME that are none of the items (the agents' caches): counted, never removed. */
  otherBytes: number;
};

export type RemovalReason = "expired" | "garbage" | "all" | "budget";

export type Removal = {
  item: DiskItem;
  reason: RemovalReason;
  /** The item's bytes and those of the items going with it that were not removed already. */
  bytes: number;
};

export type DiskPlan = {
  removals: Removal[];
  /** Bytes DROVER_HOME holds before the removals, and after them (as measured, if it was). */
  usage: number;
  after: number;
  /** Still over the budget once everything the rules allow is removed. */
  overBudget: boolean;
  /** What `--all` (or the budget) would have removed but may not now, with why. */
  kept: DiskItem[];
};

export function planDisk(items: readonly DiskItem[], opts: DiskPlanOptions): DiskPlan {
  const byKey = new Map(items.map((item) => [item.key, item]));
  const gone = new Set<string>();
  const removals: Removal[] = [];
  const usage = items.reduce((sum, item) => sum + item.bytes, opts.otherBytes);
  let after = usage;

  const remove = (item: DiskItem, reason: RemovalReason): void => {
    if (gone.has(item.key) || !item.removable) return;
    let bytes = 0;
    for (const key of [item.key, ...(item.with ?? [])]) {
      if (gone.has(key)) continue;
      gone.add(key);
      bytes += byKey.get(key)?.bytes ?? 0;
    }
    after -= bytes;
    removals.push({ item, reason, bytes });
  };

  for (const item of items) {
    if (item.garbage) remove(item, "garbage");
    else if (item.kind === "run" && opts.now - item.lastUsed > opts.keepRunsMs) remove(item, "expired");
  }
  if (opts.all) for (const item of items) remove(item, "all");
  const overBudget = () => opts.budget !== undefined && after > opts.budget;
  // Rebuildable things first (a slot is refilled, a mirror fetched again), then the runs' logs.
  const tiers = [
    items.filter((item) => item.kind === "slot" || item.kind === "mirror"),
    items.filter((item) => item.kind === "run"),
  ];
  for (const tier of tiers) {
    for (const item of leastRecentlyUsedFirst(tier)) {
      if (!overBudget()) break;
      remove(item, "budget");
    }
  }
  return { removals, usage, after, overBudget: overBudget(), kept: keptItems(items, gone, opts) };
}

function leastRecentlyUsedFirst(items: DiskItem[]): DiskItem[] {
  return [...items].sort((a, b) => a.lastUsed - b.lastUsed || a.key.localeCompare(b.key));
}

/**
 * What `--all` wanted but may not touch now (a claimed slot, a running attempt's directory, a cache in
 * use), for the report. The mirrors of installed repositories are not among them: `--all` keeps those.
 */
function keptItems(items: readonly DiskItem[], gone: Set<string>, opts: DiskPlanOptions): DiskItem[] {
  if (!opts.all) return [];
  return items.filter((item) => !gone.has(item.key) && !item.removable && item.kind !== "mirror");
}

const NOUNS: Record<DiskItemKind, [string, string]> = {
  slot: ["pooled worktree", "pooled worktrees"],
  mirror: ["mirror of a repository Drover left", "mirrors of repositories Drover left"],
  run: ["run directory", "run directories"],
  leftover: ["leftover worktree", "leftover worktrees"],
  cache: ["package cache", "package caches"],
};

const KIND_ORDER: DiskItemKind[] = ["slot", "leftover", "mirror", "run", "cache"];

/** `3 pooled worktrees`, `1 run directory`. */
export function countOf(kind: DiskItemKind, n: number): string {
  const [one, many] = NOUNS[kind];
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * One line saying what a pass removed and where DROVER_HOME stands: "removed 3 pooled worktrees (412 MB),
 * 28 run directories (96 MB); DROVER_HOME now 1.2 GB of 20 GB".
 */
export function summarizeRemovals(
  removed: readonly { kind: DiskItemKind; bytes: number }[],
  standing: { usage: number | null; budget: number | undefined },
): string {
  const parts = KIND_ORDER.flatMap((kind) => {
    const of = removed.filter((r) => r.kind === kind);
    if (of.length === 0) return [];
    return [`${countOf(kind, of.length)} (${formatBytes(of.reduce((sum, r) => sum + r.bytes, 0))})`];
  });
  const what = parts.length === 0 ? "removed nothing" : `removed ${parts.join(", ")}`;
  if (standing.usage === null) return what;
  const of = standing.budget === undefined ? "" : ` of ${formatBytes(standing.budget)}`;
  return `${what}; DROVER_HOME now ${formatBytes(standing.usage)}${of}`;
}

/** Decimal units, as DROVER_DISK_BUDGET's `20GB` is read: `412 MB`, `1.2 GB`, `0 B`. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let unit = 0;
  while (unit < units.length - 1 && Math.max(0, bytes) / 1000 ** unit >= 999.95) unit += 1;
  const value = Math.max(0, bytes) / 1000 ** unit;
  const shown =
    unit === 0 || value >= 99.95 ? Math.round(value).toString() : value.toFixed(1).replace(/\.0$/, "");
  return `${shown} ${units[unit]}`;
}

/**
 * What `drover worktree prune` prints: each path removed (relative to DROVER_HOME, with its size), each
 * path it skipped and why, then the summary line.
 */
export function renderPrune(result: {
  removed: readonly { kind: DiskItemKind; key: string; bytes: number }[];
  kept: readonly { kind: DiskItemKind; key: string; why: string }[];
  usage: number | null;
  budget: number | undefined;
}): string {
  const lines = result.removed.map((r) => `removed ${r.key} (${formatBytes(r.bytes)})`);
  for (const kept of result.kept) lines.push(`skipped ${kept.key}: ${kept.why}`);
  lines.push(summarizeRemovals(result.removed, result));
  if (result.kept.length > 0) {
    const counts = KIND_ORDER.flatMap((kind) => {
      const n = result.kept.filter((k) => k.kind === kind).length;
      return n === 0 ? [] : [countOf(kind, n)];
    });
    lines.push(
      `skipped ${counts.join(", ")} (why above): a claimed worktree or a running attempt's directory is never removed`,
    );
  }
  return `${lines.join("\n")}\n`;
}
