import { lstat, mkdir, readdir, readFile, rm, rmdir, stat } from "node:fs/promises";
import path from "node:path";
import {
  planDisk,
  type DiskItem,
  type DiskItemKind,
  type DiskPlan,
  type RemovalReason,
} from "./disk-plan.ts";
import { exists, isErrno } from "./fs-util.ts";
import { mirrorPath } from "./mirror.ts";
import { withPathLock } from "./path-lock.ts";
import { evictSlot, listSlots, poolDir, treeBytes, type Slot } from "./pool-slots.ts";
import { GitError } from "./run-git.ts";
import { removeWorktree } from "./worktree.ts";

/**
 * DROVER_HOME kept within its budget: an inventory of what it holds, the plan (src/git/disk-plan.ts), and
 * the removals. What is in use comes from the caller (`DiskActivity`, read from PostgreSQL by
 * src/db/disk-activity.ts), so this module knows the disk and nothing else.
 */

/** What uses DROVER_HOME now, as PostgreSQL says. */
export type DiskActivity = {
  /** `owner/name` of the repositories Drover is installed on: their mirrors stay. */
  installed: ReadonlySet<string>;
  /**
   * Run names' prefixes (`<repoId>-<issue>-<attempt>-`) of the attempts running: their run directories and
   * worktrees stay, whatever their lease epoch (an agent a crashed worker left may still write to its own).
   */
  runningRuns: readonly string[];
  /** `owner/name` of the repositories with an attempt running: their mirrors and caches stay. */
  runningRepos: ReadonlySet<string>;
};

export type DiskPassOptions = {
  /** DROVER_DISK_BUDGET in bytes, or undefined. */
  budget: number | undefined;
  /** DROVER_KEEP_RUNS in ms. */
  keepRunsMs: number;
  /** `prune --all`. */
  all?: boolean;
  /**
   * Measure everything, to compare with the budget and report the total. Without a budget a worker's pass
   * measures only what it removes: walking every pooled worktree's dependencies each time would cost more
   * than the pass.
   */
  measure: boolean;
  /** Read after the inventory, so anything the inventory saw that is in use is in use at this point. */
  activity: () => Promise<DiskActivity>;
  now?: () => number;
};

export type DiskRemoved = { kind: DiskItemKind; key: string; bytes: number; reason: RemovalReason };
export type DiskKept = { kind: DiskItemKind; key: string; why: string };

export type DiskPassResult = {
  removed: DiskRemoved[];
  /** What the pass meant to remove but may not now, with why. */
  kept: DiskKept[];
  freedBytes: number;
  /** DROVER_HOME's bytes after the pass; null when not measured. */
  usage: number | null;
  budget: number | undefined;
  /** DROVER_HOME still holds more than the budget: everything left is in use or an installed repository's. */
  overBudget: boolean;
};

/** The file that keeps passes on one DROVER_HOME one at a time (src/scheduler/housekeeping.ts). */
export const PASS_LOCK = "housekeeping.lock";

/** The kinds of things under DROVER_HOME the pass manages; anything else is counted and left alone. */
const MANAGED = new Set(["pool", "mirrors", "runs", "worktrees", "cache", PASS_LOCK]);

/** Waiting for a mirror's lock (a fetch holds it) before leaving the mirror for the next pass. */
const MIRROR_LOCK_WAIT_MS = 10_000;

/** One pass: inventory, plan, removals. */
export async function pruneDisk(home: string, opts: DiskPassOptions): Promise<DiskPassResult> {
  const root = path.resolve(home);
  const now = opts.now ?? Date.now;
  const inventory = await takeInventory(root, opts.measure);
  const items = classify(inventory, await opts.activity());
  const plan = planDisk(items, {
    budget: opts.budget,
    keepRunsMs: opts.keepRunsMs,
    now: now(),
    all: opts.all ?? false,
    otherBytes: inventory.otherBytes,
  });
  const applied = await applyPlan(root, plan, inventory, opts.measure);
  const freedBytes = applied.removed.reduce((sum, r) => sum + r.bytes, 0);
  const usage = opts.measure ? plan.usage - freedBytes : null;
  return {
    removed: applied.removed,
    kept: [
      ...plan.kept.map((item) => ({ kind: item.kind, key: item.key, why: item.keptBecause ?? "in use" })),
      ...applied.kept,
    ],
    freedBytes,
    usage,
    budget: opts.budget,
    overBudget: usage !== null && opts.budget !== undefined && usage > opts.budget,
  };
}

type Found = { key: string; bytes: number; lastUsed: number };
type FoundSlot = Found & { slot: Slot };
type FoundRepoDir = Found & { repo: string };
type FoundRun = Found & { name: string };
type FoundLeftover = FoundRun & { mirror: string | null };

export type DiskInventory = {
  slots: FoundSlot[];
  mirrors: FoundRepoDir[];
  caches: FoundRepoDir[];
  runs: FoundRun[];
  leftovers: FoundLeftover[];
  otherBytes: number;
};

/** What DROVER_HOME holds, with sizes (when `measure`) and when each thing was last used. */
export async function takeInventory(root: string, measure: boolean): Promise<DiskInventory> {
  const size = (p: string) => (measure ? entryBytes(p) : Promise.resolve(0));
  return {
    slots: await slotsOf(root, size),
    mirrors: await mirrorsOf(root, size),
    caches: await cachesOf(root, size),
    runs: await runsOf(root),
    leftovers: await leftoversOf(root, measure),
    otherBytes: measure ? await otherBytesOf(root) : 0,
  };
}

type Size = (p: string) => Promise<number>;

/** Pooled worktrees, last used when their meta says (a slot never finished: its directory's mtime). */
async function slotsOf(root: string, size: Size): Promise<FoundSlot[]> {
  const found: FoundSlot[] = [];
  // Repository by repository, from the directories: `pool/<owner>/` also holds the pools' lock files.
  for (const { repo } of await repoDirs(path.join(root, "pool"), "")) {
    for (const slot of await listSlots(root, repo)) {
      const lastUsed = (slot.meta && Date.parse(slot.meta.lastUsedAt)) || (await mtimeOf(slot.path));
      found.push({ key: relative(root, slot.path), bytes: await size(slot.path), lastUsed, slot });
    }
  }
  return found;
}

/** Mirrors with their `.state.json`, last used when last fetched. */
async function mirrorsOf(root: string, size: Size): Promise<FoundRepoDir[]> {
  const found: FoundRepoDir[] = [];
  for (const { repo, dir } of await repoDirs(path.join(root, "mirrors"), ".git")) {
    const state = dir.replace(/\.git$/, ".state.json");
    const bytes = (await size(dir)) + (await size(state));
    const fetched = [dir, path.join(dir, "FETCH_HEAD"), state];
    const lastUsed = Math.max(...(await Promise.all(fetched.map(mtimeOf))));
    found.push({ key: relative(root, dir), repo, bytes, lastUsed });
  }
  return found;
}

async function cachesOf(root: string, size: Size): Promise<FoundRepoDir[]> {
  const found: FoundRepoDir[] = [];
  for (const { repo, dir } of await repoDirs(path.join(root, "cache"), "")) {
    found.push({ key: relative(root, dir), repo, bytes: await size(dir), lastUsed: await mtimeOf(dir) });
  }
  return found;
}

/** Run directories, always walked: a run expires by its newest file (its log), not its directory's mtime. */
async function runsOf(root: string): Promise<FoundRun[]> {
  const found: FoundRun[] = [];
  for (const name of await subdirs(path.join(root, "runs"))) {
    const walked = await walk(path.join(root, "runs", name));
    found.push({ key: `runs/${name}`, name, bytes: walked.bytes, lastUsed: walked.newest });
  }
  return found;
}

/** What is left in `worktrees/` (per-attempt worktrees of the mirror, before the pool), with its mirror. */
async function leftoversOf(root: string, measure: boolean): Promise<FoundLeftover[]> {
  const found: FoundLeftover[] = [];
  for (const name of await subdirs(path.join(root, "worktrees"))) {
    const dir = path.join(root, "worktrees", name);
    const walked = measure ? await walk(dir) : { bytes: 0, newest: await mtimeOf(dir) };
    const mirror = await mirrorOf(dir);
    found.push({ key: `worktrees/${name}`, name, bytes: walked.bytes, lastUsed: walked.newest, mirror });
  }
  return found;
}

/** Everything else under DROVER_HOME (the agents' caches): counted against the budget, never removed. */
async function otherBytesOf(root: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(root).catch(() => [] as string[])) {
    if (!MANAGED.has(entry)) total += await entryBytes(path.join(root, entry));
  }
  return total;
}

/** The inventory as the planner's items, with what may be removed now and why not. */
export function classify(inventory: DiskInventory, activity: DiskActivity): DiskItem[] {
  const running = (name: string) => activity.runningRuns.some((prefix) => name.startsWith(prefix));
  const claimed = new Set(
    inventory.slots.filter((s) => s.slot.claim !== null && !s.slot.stale).map((s) => s.slot.repoFullName),
  );
  const busy = (repo: string) => claimed.has(repo) || activity.runningRepos.has(repo);
  const items: DiskItem[] = [];
  for (const found of inventory.slots) {
    const { slot } = found;
    const live = slot.claim !== null && !slot.stale;
    items.push({
      kind: "slot",
      key: found.key,
      bytes: found.bytes,
      lastUsed: found.lastUsed,
      removable: !live,
      ...(live ? { keptBecause: `claimed by a live process (${slot.claim?.purpose ?? "in use"})` } : {}),
      // A stale claim's holder is gone; a slot with neither meta nor claim was never finished.
      garbage: slot.stale || (slot.claim === null && slot.meta === null),
    });
  }
  const cacheOf = new Map(inventory.caches.map((c) => [c.repo, c.key]));
  for (const found of inventory.mirrors) {
    const installed = activity.installed.has(found.repo);
    const inUse = busy(found.repo);
    const slotKeys = inventory.slots.filter((s) => s.slot.repoFullName === found.repo).map((s) => s.key);
    const cache = cacheOf.get(found.repo);
    items.push({
      kind: "mirror",
      key: found.key,
      bytes: found.bytes,
      lastUsed: Math.max(
        found.lastUsed,
        ...inventory.slots.filter((s) => s.slot.repoFullName === found.repo).map((s) => s.lastUsed),
      ),
      removable: !installed && !inUse,
      ...(installed ? { keptBecause: "Drover is installed on it" } : inUse ? { keptBecause: "in use" } : {}),
      with: [...slotKeys, ...(cache ? [cache] : [])],
    });
  }
  for (const found of inventory.caches) {
    const inUse = busy(found.repo);
    items.push({
      kind: "cache",
      key: found.key,
      bytes: found.bytes,
      lastUsed: found.lastUsed,
      removable: !inUse,
      ...(inUse ? { keptBecause: "its repository has an attempt running or a worktree claimed" } : {}),
    });
  }
  for (const found of inventory.runs) {
    const live = running(found.name);
    items.push({
      kind: "run",
      key: found.key,
      bytes: found.bytes,
      lastUsed: found.lastUsed,
      removable: !live,
      ...(live ? { keptBecause: "its attempt is running" } : {}),
    });
  }
  for (const found of inventory.leftovers) {
    const live = running(found.name);
    items.push({
      kind: "leftover",
      key: found.key,
      bytes: found.bytes,
      lastUsed: found.lastUsed,
      removable: !live,
      ...(live ? { keptBecause: "its attempt is running" } : {}),
      garbage: true,
    });
  }
  return items;
}

/**
 * Removes what the plan says, each thing only if it may still go when its turn comes (a slot claimed
 * since the inventory stays). One thing that cannot be removed is reported and the pass goes on.
 */
async function applyPlan(
  root: string,
  plan: DiskPlan,
  inventory: DiskInventory,
  measured: boolean,
): Promise<{ removed: DiskRemoved[]; kept: DiskKept[] }> {
  const removed: DiskRemoved[] = [];
  const kept: DiskKept[] = [];
  for (const { item, reason, bytes: planned } of plan.removals) {
    try {
      // Unmeasured (a worker's pass without a budget), only what goes is measured, for the log.
      const bytes = measured ? planned : await bytesOfRemoval(root, item, inventory);
      const outcome = await removeItem(root, item, inventory);
      if (outcome === true) removed.push({ kind: item.kind, key: item.key, bytes, reason });
      else kept.push({ kind: item.kind, key: item.key, why: outcome });
    } catch (error) {
      kept.push({ kind: item.kind, key: item.key, why: `could not be removed: ${(error as Error).message}` });
    }
  }
  return { removed, kept };
}

/** Removes one item; true, or why it stays. */
async function removeItem(root: string, item: DiskItem, inventory: DiskInventory): Promise<true | string> {
  const full = path.join(root, item.key);
  switch (item.kind) {
    case "slot": {
      const found = inventory.slots.find((s) => s.key === item.key)!;
      return (await evictSlot(root, found.slot)) || "claimed since the inventory";
    }
    case "mirror":
      return removeMirror(root, inventory.mirrors.find((m) => m.key === item.key)!.repo);
    case "leftover": {
      const mirror = inventory.leftovers.find((l) => l.key === item.key)?.mirror ?? null;
      if (mirror !== null && (await exists(mirror))) await removeWorktree(mirror, full);
      else await rm(full, { recursive: true, force: true });
      return true;
    }
    case "run":
      await rm(full, { recursive: true, force: true });
      return true;
    case "cache":
      await rm(full, { recursive: true, force: true });
      await removeEmptyParent(full);
      return true;
  }
}

/** What removing `item` frees: a mirror's own bytes, its state file, its pool and its caches. */
async function bytesOfRemoval(root: string, item: DiskItem, inventory: DiskInventory): Promise<number> {
  const full = path.join(root, item.key);
  if (item.kind !== "mirror") return entryBytes(full);
  const repo = inventory.mirrors.find((m) => m.key === item.key)!.repo;
  let total = (await entryBytes(full)) + (await entryBytes(full.replace(/\.git$/, ".state.json")));
  for (const slot of await listSlots(root, repo)) total += await treeBytes(slot.path);
  return total + (await treeBytes(path.join(root, "cache", ...repo.split("/"))));
}

/**
 * Removes a repository's mirror with its pooled worktrees and package caches, holding the mirror's lock (no
 * fetch runs in it meanwhile) and the pool's (no filling starts). Every slot is evicted first, taking its
 * claim: one claimed since the inventory keeps the whole mirror, which its worktree needs.
 */
async function removeMirror(root: string, repo: string): Promise<true | string> {
  const mirror = mirrorPath(root, repo);
  const pool = poolDir(root, repo);
  const cache = path.join(root, "cache", ...repo.split("/"));
  const locked = <T>(lock: string, fn: () => Promise<T>) =>
    withPathLock(lock, fn, { timeoutMs: MIRROR_LOCK_WAIT_MS });
  try {
    return await locked(`${mirror}.lock`, async () => {
      await mkdir(path.dirname(pool), { recursive: true }); // where the pool's lock goes
      return locked(`${pool}.lock`, async () => {
        for (const slot of await listSlots(root, repo)) {
          if (!(await evictSlot(root, slot)))
            return `a pooled worktree of ${repo} was claimed since the inventory`;
        }
        await rm(pool, { recursive: true, force: true });
        await rm(mirror, { recursive: true, force: true });
        await rm(mirror.replace(/\.git$/, ".state.json"), { force: true });
        await rm(cache, { recursive: true, force: true });
        return true as const;
      });
    });
  } catch (error) {
    if (error instanceof GitError && error.timedOut) return "its lock is held (a fetch or a fill is running)";
    throw error;
  } finally {
    // The owners' directories left empty (their lock files are gone with the locks).
    for (const p of [mirror, pool, cache]) await removeEmptyParent(p);
  }
}

/** `<dir>/<owner>/<name><suffix>` directories, as `owner/name` and their path. */
async function repoDirs(dir: string, suffix: string): Promise<{ repo: string; dir: string }[]> {
  const found: { repo: string; dir: string }[] = [];
  for (const owner of await subdirs(dir)) {
    for (const entry of await subdirs(path.join(dir, owner))) {
      if (!entry.endsWith(suffix)) continue;
      const repo = `${owner}/${entry.slice(0, entry.length - suffix.length)}`;
      try {
        mirrorPath(dir, repo); // the same checks on the name; a staging directory's name fails them
      } catch {
        continue;
      }
      found.push({ repo, dir: path.join(dir, owner, entry) });
    }
  }
  return found;
}

/** The mirror a worktree belongs to, from its `.git` file (`gitdir: <mirror>/worktrees/<name>`). */
async function mirrorOf(worktree: string): Promise<string | null> {
  const text = await readFile(path.join(worktree, ".git"), "utf8").catch(() => null);
  const gitdir = text === null ? undefined : /^gitdir: (.+)$/m.exec(text)?.[1];
  if (gitdir === undefined) return null;
  const at = gitdir.lastIndexOf(`${path.sep}worktrees${path.sep}`);
  return at > 0 ? gitdir.slice(0, at) : null;
}

async function subdirs(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch (error) {
    if (isErrno(error, "ENOENT") || isErrno(error, "ENOTDIR")) return [];
    throw error;
  }
}

/** Bytes of a file or directory tree (links not followed); 0 when missing. */
async function entryBytes(p: string): Promise<number> {
  const info = await lstat(p).catch(() => null);
  if (info === null) return 0;
  return info.isDirectory() ? treeBytes(p) : info.isFile() ? info.size : 0;
}

async function mtimeOf(p: string): Promise<number> {
  return (await stat(p).catch(() => null))?.mtimeMs ?? 0;
}

/** Bytes under `dir` and its newest file's (or directory's) mtime. */
async function walk(dir: string): Promise<{ bytes: number; newest: number }> {
  let bytes = 0;
  let newest = await mtimeOf(dir);
  const stack = [dir];
  while (stack.length > 0) {
    const current = stack.pop()!;
    const entries = await readdir(current, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) stack.push(full);
      const info = await lstat(full).catch(() => null);
      if (info === null) continue;
      newest = Math.max(newest, info.mtimeMs);
      if (info.isFile()) bytes += info.size;
    }
  }
  return { bytes, newest };
}

/** An owner's directory left empty by its last repository's removal goes too. */
async function removeEmptyParent(p: string): Promise<void> {
  await rmdir(path.dirname(p)).catch(() => {});
}

function relative(root: string, p: string): string {
  return path.relative(root, p).split(path.sep).join("/");
}
