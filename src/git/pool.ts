import { mkdir, readFile, realpath, rm } from "node:fs/promises";
import path from "node:path";
import { exists } from "./fs-util.ts";
import { setupKeyAt } from "./lockfiles.ts";
import { mirrorPath } from "./mirror.ts";
import { withPathLock } from "./path-lock.ts";
import {
  clearSlotMeta,
  dropClaim,
  evictSlot,
  listSlots,
  newSlotId,
  poolDir,
  readSlot,
  takeClaim,
  writeSlotMeta,
  type Slot,
  type SlotMeta,
} from "./pool-slots.ts";
import { GitError, runGit } from "./run-git.ts";
import { assertTaskBranch, resolveStart } from "./worktree.ts";

/**
 * A pool of ready worktrees per repository (drover.yml `pool: { min, max }`), built on the bookkeeping in
 * pool-slots.ts. A ready slot sits detached at the base branch's tip with the repository's `setup` run;
 * an attempt claims one, puts it on its task branch at its start commit (running `setup` again only when
 * the lockfiles differ from those it ran for), and hands it back afterwards, cleaned down to a checkout
 * plus the dependency caches. Every change to a slot's directory happens under its claim, so an attempt's
 * worktree is never touched by anyone else. With no ready slot, the attempt makes one itself (the cold
 * path) and hands it back all the same.
 *
 * Setup is the caller's (it runs as the agent's user, with the agent's environment: src/agent/setup.ts);
 * the pool only asks whether it succeeded.
 */

/**
 * Ignored directories kept when a slot is cleaned: what setup installed into the worktree. Anything else
 * untracked or ignored goes, so no task ever sees another's files.
 */
export const KEPT_CACHES: readonly string[] = [
  "node_modules",
  "bower_components",
  ".venv",
  "venv",
  ".tox",
  "target",
];

/** The repository's `setup`, as the pool runs it: its command (part of the key) and how to run it. */
export interface PoolSetup<R extends { ok: boolean } = { ok: boolean }> {
  command: string;
  run: (worktree: string, signal?: AbortSignal) => Promise<R>;
}

/** A slot held by an attempt, as claimWorktree hands it over and releaseWorktree takes it back. */
export interface PooledWorktree {
  repoFullName: string;
  id: string;
  path: string;
  createdAt: string;
  /** The setup key the worktree's caches were installed for (null: no setup). */
  setupKey: string | null;
  setupOk: boolean;
}

export interface PoolTarget {
  /** DROVER_HOME. */
  home: string;
  /** `owner/name`. */
  repoFullName: string;
  /** The base branch: ready slots sit at its tip in the mirror. */
  base: string;
  signal?: AbortSignal | undefined;
}

/** Git in a slot: never a hook or an fsmonitor program from the repository's (agent-reachable) config. */
const SAFE = ["-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false"];

/** How long a pool step waits for the repository's pool lock (taken only for counting). */
const POOL_LOCK_TIMEOUT_MS = 60_000;

/**
 * Makes ready slots until the repository has `pool.min` idle (ready or being made), never more slots in
 * all (in use included) than `pool.max`. Stale slots (their holder died) are recycled first. The mirror
 * must exist (ensureMirror). Returns the ids made, how many were recycled, and the ids made whose setup
 * failed (ready all the same: a claim runs setup again). A slot whose making fails is removed, and the
 * error thrown.
 */
export async function fillPool(
  opts: PoolTarget & { pool: { min: number; max: number }; setup?: PoolSetup | undefined },
): Promise<{ made: string[]; recycled: number; setupFailed: string[] }> {
  const mirror = await existingMirror(opts);
  const dir = poolDir(opts.home, opts.repoFullName);
  await mkdir(dir, { recursive: true });
  // Beside the repository's pool directory, where disk housekeeping (src/git/disk.ts) takes it too before
  // removing the pool: held while counting and claiming, so no fill starts under a removal.
  const { ids, recycled } = await withPathLock(
    `${dir}.lock`,
    async () => {
      const slots = await listSlots(opts.home, opts.repoFullName);
      let gone = 0;
      for (const slot of slots.filter((s) => s.stale || orphaned(s))) {
        // One that cannot be removed (its files' permissions) must not keep the pool from filling.
        if (await evictSlot(opts.home, slot).catch(() => false)) gone += 1;
      }
      const live = (await listSlots(opts.home, opts.repoFullName)).filter((s) => !s.stale);
      const idle = live.filter((s) => isIdle(s) || s.claim?.purpose === "fill").length;
      const wanted = Math.max(0, Math.min(opts.pool.min - idle, opts.pool.max - live.length));
      const taken: string[] = [];
      for (let i = 0; i < wanted; i += 1) {
        const id = newSlotId();
        if (await takeClaim(opts.home, opts.repoFullName, id, "fill")) taken.push(id);
      }
      return { ids: taken, recycled: gone };
    },
    { timeoutMs: POOL_LOCK_TIMEOUT_MS, ...(opts.signal ? { signal: opts.signal } : {}) },
  );
  const made: string[] = [];
  const setupFailed: string[] = [];
  let failure: unknown;
  for (const id of ids) {
    try {
      if (failure !== undefined || opts.signal?.aborted) throw failure ?? opts.signal?.reason;
      if (!(await makeReadySlot(opts, mirror, id))) setupFailed.push(id);
      made.push(id);
    } catch (error) {
      failure ??= error;
      await evictSlot(opts.home, { repoFullName: opts.repoFullName, id }, { held: true });
    }
  }
  if (failure !== undefined) throw failure;
  return { made, recycled, setupFailed };
}

/**
 * After a fetch moved the base branch: every idle ready slot not at its tip is moved there (under its
 * claim), cleaned, and set up again only when the lockfiles changed. A slot that cannot be moved is
 * removed. Slots in use are left alone; they come back at the tip when released.
 */
export async function advancePool(
  opts: PoolTarget & { setup?: PoolSetup | undefined },
): Promise<{ advanced: number; evicted: number }> {
  const mirror = await existingMirror(opts);
  const { baseSha: tip } = await resolveStart(mirror, opts.base, undefined, opts.signal);
  let advanced = 0;
  let evicted = 0;
  for (const slot of await listSlots(opts.home, opts.repoFullName)) {
    if (!isIdle(slot) || slot.meta?.sha === tip) continue;
    opts.signal?.throwIfAborted();
    if (!(await takeClaim(opts.home, opts.repoFullName, slot.id, "advance"))) continue;
    const meta = (await readSlot(opts.home, opts.repoFullName, slot.id)).meta;
    if (meta === null || !(await exists(slot.path))) {
      await evictSlot(opts.home, slot, { held: true });
      evicted += 1;
      continue;
    }
    try {
      await clearSlotMeta(opts.home, opts.repoFullName, slot.id);
      await cleanAt(mirror, slot.path, tip, opts.signal);
      const held = heldFrom(slot, meta);
      await setUp(
        held,
        await setupKeyAt(mirror, tip, opts.setup?.command, opts.signal),
        opts.setup,
        opts.signal,
      );
      await writeSlotMeta(
        opts.home,
        opts.repoFullName,
        slot.id,
        metaOf(held, opts.base, tip, meta.lastUsedAt),
      );
      await dropClaim(opts.home, opts.repoFullName, slot.id);
      advanced += 1;
    } catch (error) {
      await evictSlot(opts.home, slot, { held: true });
      evicted += 1;
      if (opts.signal?.aborted) throw error;
    }
  }
  return { advanced, evicted };
}

export interface ClaimWorktreeOptions<R extends { ok: boolean }> extends PoolTarget {
  /** The task's branch (`drover/...`): checked out, reset to the start commit. */
  branch: string;
  /** The commit to start from (the task branch's or a blocker's head); default the base branch's tip. */
  startSha?: string | undefined;
  /** Who claims it, for people reading the disk: the attempt's run name. */
  runName: string;
  setup?: PoolSetup<R> | undefined;
}

export interface ClaimedWorktree<R> {
  slot: PooledWorktree;
  /** The worktree, on `branch` at `startSha`. */
  path: string;
  /** The base branch's tip in the mirror. */
  baseSha: string;
  startSha: string;
  /** A ready slot was taken (false: the attempt made one, the cold path). */
  warm: boolean;
  /** How long getting the worktree onto the branch took, and setup (0 when it did not run). */
  worktreeMs: number;
  setupMs: number;
  /** The setup's result when it ran; null when the slot's caches already matched, or there is none. */
  setup: R | null;
}

/**
 * A worktree for an attempt: an idle ready slot (one whose setup matches the start commit's lockfiles
 * preferred) or, with none, a new one; put on the task branch at the start commit, with setup run when
 * the key differs or setup failed there last time. The slot stays claimed by the attempt until
 * releaseWorktree. A setup that fails is returned in `setup` (the caller fails the attempt, then releases).
 */
export async function claimWorktree<R extends { ok: boolean }>(
  opts: ClaimWorktreeOptions<R>,
): Promise<ClaimedWorktree<R>> {
  assertTaskBranch(opts.branch);
  const started = performance.now();
  const mirror = await existingMirror(opts);
  const { baseSha, startSha } = await resolveStart(mirror, opts.base, opts.startSha, opts.signal);
  const key = await setupKeyAt(mirror, startSha, opts.setup?.command, opts.signal);
  const purpose = `attempt ${opts.runName}`;
  const warm = await claimReady(opts, key, purpose);
  const slot = warm ?? (await claimNew(opts, purpose));
  try {
    if (warm === null) await addDetached(mirror, slot.path, startSha, opts.signal);
    await runGit(
      [
        ...SAFE,
        "checkout",
        "--quiet",
        "--force",
        "--ignore-other-worktrees",
        "--no-track",
        "-B",
        opts.branch,
        startSha,
      ],
      { cwd: slot.path, ...(opts.signal ? { signal: opts.signal } : {}) },
    );
    const worktreeMs = Math.round(performance.now() - started);
    const setupStarted = performance.now();
    const setup = await setUp(slot, key, opts.setup, opts.signal);
    const setupMs = setup === null ? 0 : Math.round(performance.now() - setupStarted);
    return { slot, path: slot.path, baseSha, startSha, warm: warm !== null, worktreeMs, setupMs, setup };
  } catch (error) {
    await evictSlot(opts.home, slot, { held: true });
    throw error;
  }
}

/**
 * After the attempt: the slot cleaned (`git reset --hard`, `git clean -ffdx` but the dependency caches),
 * detached at the mirror's base tip and made ready again; or removed, when the repository already has
 * `max` idle ready slots or cleaning failed. The caller holds the slot's claim (claimWorktree) and gives
 * it up here either way.
 */
export async function releaseWorktree(
  opts: Omit<PoolTarget, "signal"> & { slot: PooledWorktree; max: number },
): Promise<"returned" | "evicted"> {
  const { home, slot } = opts;
  const mirror = mirrorPath(home, opts.repoFullName);
  try {
    // No signal: a cancelled attempt's worktree is cleaned all the same.
    const { baseSha: tip } = await resolveStart(mirror, opts.base, undefined);
    await cleanAt(mirror, slot.path, tip, undefined);
    const idle = (await listSlots(home, opts.repoFullName)).filter(isIdle).length;
    if (idle >= opts.max) {
      await evictSlot(home, slot, { held: true });
      return "evicted";
    }
    const now = new Date().toISOString();
    await writeSlotMeta(home, opts.repoFullName, slot.id, metaOf(slot, opts.base, tip, now));
    await dropClaim(home, opts.repoFullName, slot.id);
    return await trimIdle(home, opts.repoFullName, opts.max, slot.id);
  } catch {
    await evictSlot(home, slot, { held: true });
    return "evicted";
  }
}

/**
 * Whether a worktree is exactly a checkout of its HEAD plus the kept caches: nothing modified, staged,
 * untracked or ignored apart from them. Returns what is there that should not be.
 */
export async function strayFiles(worktree: string, signal?: AbortSignal): Promise<string[]> {
  const status = await runGit([...SAFE, "status", "--porcelain", "--ignored", "--untracked-files=normal"], {
    cwd: worktree,
    ...(signal ? { signal } : {}),
  });
  return status
    .split("\n")
    .filter((line) => line !== "")
    .filter((line) => {
      const file = line.slice(3).replace(/\/$/, "");
      return !(line.startsWith("!! ") || line.startsWith("?? ")) || !isKeptCache(file);
    });
}

function isKeptCache(file: string): boolean {
  return file.split("/").some((part) => KEPT_CACHES.includes(part));
}

/**
 * Releases at once (workers sharing DROVER_HOME) each counted the others' slots as held, so more than `max`
 * can be idle: the idle slots past `max` go, the same ones whoever looks (by id), each removed by one
 * evictor only (its claim). Whether `mine` was among them.
 */
async function trimIdle(
  home: string,
  repoFullName: string,
  max: number,
  mine: string,
): Promise<"returned" | "evicted"> {
  const idle = (await listSlots(home, repoFullName)).filter(isIdle).sort((a, b) => a.id.localeCompare(b.id));
  let fate: "returned" | "evicted" = "returned";
  for (const extra of idle.slice(max))
    if ((await evictSlot(home, extra)) && extra.id === mine) fate = "evicted";
  return fate;
}

/** Ready and nobody holds it. */
function isIdle(slot: Slot): boolean {
  return slot.meta !== null && slot.claim === null;
}

/** Neither ready nor held: its making or eviction was cut short, or its holder gave it up broken. */
function orphaned(slot: Slot): boolean {
  return slot.meta === null && slot.claim === null;
}

function heldFrom(slot: Slot, meta: SlotMeta): PooledWorktree {
  return {
    repoFullName: slot.repoFullName,
    id: slot.id,
    path: slot.path,
    createdAt: meta.createdAt,
    setupKey: meta.setupKey,
    setupOk: meta.setupOk,
  };
}

function metaOf(slot: PooledWorktree, base: string, sha: string, lastUsedAt: string): SlotMeta {
  return { base, sha, setupKey: slot.setupKey, setupOk: slot.setupOk, createdAt: slot.createdAt, lastUsedAt };
}

async function existingMirror(opts: PoolTarget): Promise<string> {
  const mirror = mirrorPath(opts.home, opts.repoFullName);
  if (!(await exists(mirror))) {
    throw new GitError(
      `${opts.repoFullName} has no mirror on this machine yet; fetch it first (ensureMirror)`,
      {
        subcommand: "worktree",
      },
    );
  }
  return mirror;
}

/**
 * Takes an idle ready slot for `purpose`, the ones whose setup key is `key` first, then the most recently
 * used (its caches the warmest); null when none is free. Its readiness is forgotten at once: a crash from
 * here on leaves it claimed and not ready, so it is recycled, never reused.
 */
async function claimReady(
  target: PoolTarget,
  key: string | null,
  purpose: string,
): Promise<PooledWorktree | null> {
  const ready = (await listSlots(target.home, target.repoFullName)).filter(isIdle);
  const rank = (slot: Slot) => (slot.meta?.setupKey === key && slot.meta.setupOk ? 0 : 1);
  ready.sort(
    (a, b) => rank(a) - rank(b) || (b.meta?.lastUsedAt ?? "").localeCompare(a.meta?.lastUsedAt ?? ""),
  );
  for (const candidate of ready) {
    if (!(await takeClaim(target.home, target.repoFullName, candidate.id, purpose))) continue;
    const meta = (await readSlot(target.home, target.repoFullName, candidate.id)).meta;
    if (meta === null || !(await exists(candidate.path))) {
      // Evicted between the listing and the claim, or never whole: not a slot to use.
      await evictSlot(target.home, candidate, { held: true });
      continue;
    }
    await clearSlotMeta(target.home, target.repoFullName, candidate.id);
    return heldFrom(candidate, meta);
  }
  return null;
}

/** A new slot's claim, for the attempt (cold path) or the filler: its directory is not made yet. */
async function claimNew(target: PoolTarget, purpose: string): Promise<PooledWorktree> {
  for (;;) {
    const id = newSlotId();
    if (await takeClaim(target.home, target.repoFullName, id, purpose)) {
      const now = new Date().toISOString();
      const dir = path.join(poolDir(target.home, target.repoFullName), id);
      return {
        repoFullName: target.repoFullName,
        id,
        path: dir,
        createdAt: now,
        setupKey: null,
        setupOk: false,
      };
    }
  }
}

/**
 * Makes a slot whose claim `id` the filler holds: a checkout of the base tip, set up, then ready. Says
 * whether its setup succeeded (or was not needed).
 */
async function makeReadySlot(
  opts: PoolTarget & { setup?: PoolSetup | undefined },
  mirror: string,
  id: string,
): Promise<boolean> {
  const { baseSha: tip } = await resolveStart(mirror, opts.base, undefined, opts.signal);
  const now = new Date().toISOString();
  const slot: PooledWorktree = {
    repoFullName: opts.repoFullName,
    id,
    path: path.join(poolDir(opts.home, opts.repoFullName), id),
    createdAt: now,
    setupKey: null,
    setupOk: false,
  };
  await addDetached(mirror, slot.path, tip, opts.signal);
  const setup = await setUp(
    slot,
    await setupKeyAt(mirror, tip, opts.setup?.command, opts.signal),
    opts.setup,
    opts.signal,
  );
  // The meta last: until it is written the slot is not ready, whatever happened before.
  await writeSlotMeta(opts.home, opts.repoFullName, id, metaOf(slot, opts.base, tip, now));
  await dropClaim(opts.home, opts.repoFullName, id);
  return setup?.ok ?? true;
}

async function addDetached(mirror: string, dir: string, sha: string, signal: AbortSignal | undefined) {
  // A directory left by a slot whose making was cut short (same id, a crashed filler) goes first.
  await rm(dir, { recursive: true, force: true });
  await runGit(["worktree", "prune"], { cwd: mirror, ...(signal ? { signal } : {}) });
  await runGit([...SAFE, "worktree", "add", "--quiet", "--detach", "--end-of-options", dir, sha], {
    cwd: mirror,
    ...(signal ? { signal } : {}),
  });
}

/**
 * Runs setup in the slot when it has one and the slot's caches are not known good for `key` (the setup key
 * of the commit it is at); records what it ran for on `slot`. Returns the result when it ran.
 */
async function setUp<R extends { ok: boolean }>(
  slot: PooledWorktree,
  key: string | null,
  setup: PoolSetup<R> | undefined,
  signal: AbortSignal | undefined,
): Promise<R | null> {
  if (setup === undefined || (slot.setupKey === key && slot.setupOk)) {
    slot.setupKey = key;
    slot.setupOk = true;
    return null;
  }
  const result = await setup.run(slot.path, signal);
  slot.setupKey = key;
  slot.setupOk = result.ok;
  return result;
}

/**
 * Brings a slot back to a plain checkout of `sha` (detached), keeping only the dependency caches: what an
 * attempt left (edits, a merge or rebase in progress, untracked and ignored files) goes. Refuses (throws)
 * a worktree that is no longer the mirror's, or that still has stray files after cleaning.
 */
async function cleanAt(mirror: string, dir: string, sha: string, signal: AbortSignal | undefined) {
  const gitDir = await ownGitDir(mirror, dir);
  for (const state of ["rebase-merge", "rebase-apply", "sequencer", "BISECT_LOG", "index.lock"])
    await rm(path.join(gitDir, state), { recursive: true, force: true });
  const git = (args: string[]) => runGit([...SAFE, ...args], { cwd: dir, ...(signal ? { signal } : {}) });
  await git(["reset", "--quiet", "--hard"]);
  await git(["checkout", "--quiet", "--force", "--detach", sha]);
  await git(["clean", "-ffdxq", ...KEPT_CACHES.flatMap((cache) => ["-e", cache])]);
  const stray = await strayFiles(dir, signal);
  if (stray.length > 0) {
    throw new GitError(`worktree still has ${stray.length} stray entries after cleaning`, {
      subcommand: "clean",
    });
  }
}

/**
 * The worktree's git dir, after checking that its `.git` file still points into the mirror: an agent
 * could have pointed it at a repository of its own, whose config would then run programs for Drover.
 */
async function ownGitDir(mirror: string, dir: string): Promise<string> {
  const text = await readFile(path.join(dir, ".git"), "utf8").catch(() => "");
  const named = /^gitdir: (.+)\n?$/.exec(text)?.[1];
  const gitDir = named === undefined ? null : await realpath(path.resolve(dir, named)).catch(() => null);
  if (gitDir === null || path.dirname(gitDir) !== path.join(await realpath(mirror), "worktrees")) {
    throw new GitError("worktree's .git no longer points into the mirror", { subcommand: "worktree" });
  }
  return gitDir;
}
