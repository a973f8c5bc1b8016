import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { exists, isErrno, readJsonFile } from "./fs-util.ts";
import { mirrorPath } from "./mirror.ts";
import { removeWorktree } from "./worktree.ts";

/**
 * The pool's bookkeeping on disk: which worktrees a repository has ready, and who is using one. Every
 * slot is a directory `pool/<owner>/<name>/<id>/` (a worktree of the repository's mirror) with two files
 * beside it: `<id>.json`, its SlotMeta, written only once the slot is ready, and `<id>.claim`, created with
 * O_EXCL by whoever uses or changes it (an attempt, the filler, eviction). Nobody touches a slot's
 * directory without holding its claim, so a worktree is never changed under an attempt that uses it.
 * DROVER_HOME is per machine, so a claim's pid means something: a claim whose process is gone is stale,
 * and its slot is recycled (removed), never reused, since nobody knows what state its holder left it in.
 */

/** A slot ready for a task: checked out at `sha` of `base`, `setup` run (or not needed) as `setupKey` says. */
export const SlotMeta = z.object({
  /** The base branch it was made from. */
  base: z.string(),
  /** The commit it is checked out at (detached). */
  sha: z.string(),
  /** What its `setup` ran for (src/git/lockfiles.ts), or null when the repository has none. */
  setupKey: z.string().nullable(),
  /** Whether that setup succeeded; a slot whose setup failed runs it again when claimed. */
  setupOk: z.boolean(),
  createdAt: z.string(),
  lastUsedAt: z.string(),
});
export type SlotMeta = z.infer<typeof SlotMeta>;

export const Claim = z.object({
  pid: z.number().int(),
  host: z.string(),
  /** What holds it, for people reading the disk: `attempt <runName>`, `fill`, `evict`. */
  purpose: z.string(),
  at: z.string(),
});
export type Claim = z.infer<typeof Claim>;

export type Slot = {
  repoFullName: string;
  id: string;
  /** The worktree's directory (it may be missing, for a slot whose making was cut short). */
  path: string;
  meta: SlotMeta | null;
  claim: Claim | null;
  /** Claimed by a process that is gone: the slot is to be recycled. */
  stale: boolean;
};

/** A claim older than this is stale even if its pid looks alive (pids are reused). */
const CLAIM_STALE_AFTER_MS = 24 * 60 * 60_000;

const SLOT_ID = /^[0-9a-f]{8}$/;

export function poolRoot(home: string): string {
  return path.join(path.resolve(home), "pool");
}

/** `<home>/pool/<owner>/<name>`, with the same checks on the name as the mirror's path. */
export function poolDir(home: string, repoFullName: string): string {
  mirrorPath(home, repoFullName); // refuses names that could step outside DROVER_HOME
  return path.join(poolRoot(home), ...repoFullName.split("/"));
}

export function newSlotId(): string {
  return randomBytes(4).toString("hex");
}

function slotFiles(dir: string, id: string) {
  return {
    path: path.join(dir, id),
    meta: path.join(dir, `${id}.json`),
    claim: path.join(dir, `${id}.claim`),
  };
}

/** The slot of `repoFullName` called `id`, as it is on disk now. */
export async function readSlot(home: string, repoFullName: string, id: string): Promise<Slot> {
  const files = slotFiles(poolDir(home, repoFullName), id);
  const meta = await readJsonFile(files.meta, SlotMeta);
  const claim = (await readJsonFile(files.claim, Claim)) ?? (await unreadableClaim(files.claim));
  return { repoFullName, id, path: files.path, meta, claim, stale: claim !== null && isStale(claim) };
}

/** Every slot of one repository, or of every repository in the pool. */
export async function listSlots(home: string, repoFullName?: string): Promise<Slot[]> {
  const repos = repoFullName === undefined ? await pooledRepositories(home) : [repoFullName];
  const slots: Slot[] = [];
  for (const repo of repos) {
    const entries = await readdir(poolDir(home, repo)).catch((error: unknown) => {
      if (isErrno(error, "ENOENT")) return [] as string[];
      throw error;
    });
    const ids = new Set(entries.map((entry) => entry.replace(/\.(json|claim)$/, "")));
    for (const id of [...ids].filter((id) => SLOT_ID.test(id)).sort()) {
      slots.push(await readSlot(home, repo, id));
    }
  }
  return slots;
}

async function pooledRepositories(home: string): Promise<string[]> {
  const root = poolRoot(home);
  const owners = await readdir(root).catch((error: unknown) => {
    if (isErrno(error, "ENOENT")) return [] as string[];
    throw error;
  });
  const repos: string[] = [];
  for (const owner of owners.sort()) {
    const names = await readdir(path.join(root, owner), { withFileTypes: true }).catch(() => []);
    // Directories only: a stray file (an old lock, an editor's backup) is no repository.
    for (const name of names
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort()) {
      repos.push(`${owner}/${name}`);
    }
  }
  return repos;
}

/**
 * Takes the slot's claim for `purpose`; false when another holds it (stale or not: a stale slot is only
 * ever evicted, by `evictSlot`).
 */
export async function takeClaim(
  home: string,
  repoFullName: string,
  id: string,
  purpose: string,
): Promise<boolean> {
  const dir = poolDir(home, repoFullName);
  await mkdir(dir, { recursive: true });
  const claim: Claim = { pid: process.pid, host: os.hostname(), purpose, at: new Date().toISOString() };
  let handle;
  try {
    handle = await open(slotFiles(dir, id).claim, "wx");
  } catch (error) {
    if (isErrno(error, "EEXIST")) return false;
    throw error;
  }
  try {
    await handle.writeFile(`${JSON.stringify(claim)}\n`);
  } finally {
    await handle.close();
  }
  return true;
}

/** Gives the claim back (only its holder calls this). */
export async function dropClaim(home: string, repoFullName: string, id: string): Promise<void> {
  await rm(slotFiles(poolDir(home, repoFullName), id).claim, { force: true });
}

/** Records a slot as ready (its holder, before dropping the claim): written whole or not at all. */
export async function writeSlotMeta(
  home: string,
  repoFullName: string,
  id: string,
  meta: SlotMeta,
): Promise<void> {
  const file = slotFiles(poolDir(home, repoFullName), id).meta;
  const staging = `${file}.${process.pid}-${randomBytes(3).toString("hex")}`;
  await writeFile(staging, `${JSON.stringify(meta)}\n`);
  await rename(staging, file);
}

/** Forgets a slot's readiness (its holder, before changing the worktree). */
export async function clearSlotMeta(home: string, repoFullName: string, id: string): Promise<void> {
  await rm(slotFiles(poolDir(home, repoFullName), id).meta, { force: true });
}

/**
 * Removes a slot: its worktree (and the mirror's record of it), its meta and its claim. Takes the claim
 * first; a slot claimed by a live process is left alone (false). A stale claim is taken over by renaming
 * it away, which only one of several evictors can do. The holder of a claim evicts with `held: true`.
 */
export async function evictSlot(
  home: string,
  slot: Pick<Slot, "repoFullName" | "id">,
  opts: { held?: boolean } = {},
): Promise<boolean> {
  const dir = poolDir(home, slot.repoFullName);
  const files = slotFiles(dir, slot.id);
  if (!opts.held && !(await takeClaim(home, slot.repoFullName, slot.id, "evict"))) {
    const current = await readSlot(home, slot.repoFullName, slot.id);
    if (!current.stale) return false;
    try {
      await rename(files.claim, `${files.claim}.evicting-${process.pid}`);
    } catch (error) {
      if (isErrno(error, "ENOENT")) return false; // another evictor took it
      throw error;
    }
    await rm(`${files.claim}.evicting-${process.pid}`, { force: true });
    if (!(await takeClaim(home, slot.repoFullName, slot.id, "evict"))) return false;
  }
  await rm(files.meta, { force: true });
  const mirror = mirrorPath(home, slot.repoFullName);
  if (await exists(mirror)) await removeWorktree(mirror, files.path);
  else await rm(files.path, { recursive: true, force: true });
  await rm(files.claim, { force: true });
  return true;
}

/** Bytes a slot's directory holds (its files, not the mirror's objects it shares). */
export async function slotBytes(slot: Pick<Slot, "path">): Promise<number> {
  return treeBytes(slot.path);
}

/** Bytes under `dir` (files' sizes; links not followed); 0 when it is missing. */
export async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const current = stack.pop()!;
    let entries;
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch (error) {
      if (isErrno(error, "ENOENT") || isErrno(error, "ENOTDIR")) continue;
      throw error;
    }
    for (const entry of entries) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) stack.push(full);
      else if (entry.isFile()) total += (await stat(full).catch(() => ({ size: 0 }))).size;
    }
  }
  return total;
}

/**
 * A claim file that cannot be read: its writer died between creating and writing it (or is writing it
 * now). Read as a claim by nobody, made when the file was; stale after a minute.
 */
async function unreadableClaim(file: string): Promise<Claim | null> {
  const info = await stat(file).catch(() => null);
  if (info === null) return null;
  const young = Date.now() - info.mtimeMs < UNREADABLE_CLAIM_STALE_AFTER_MS;
  return {
    pid: young ? process.pid : 0,
    host: os.hostname(),
    purpose: "unreadable",
    at: info.mtime.toISOString(),
  };
}

const UNREADABLE_CLAIM_STALE_AFTER_MS = 60_000;

function isStale(claim: Claim): boolean {
  if (claim.pid <= 0) return true;
  if (Date.now() - Date.parse(claim.at) > CLAIM_STALE_AFTER_MS) return true;
  if (claim.host !== os.hostname()) return false;
  try {
    process.kill(claim.pid, 0);
    return false;
  } catch (error) {
    return isErrno(error, "ESRCH");
  }
}
