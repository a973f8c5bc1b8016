import { chmod, lstat, readdir, rm } from "node:fs/promises";
import path from "node:path";
import { exists } from "./fs-util.ts";
import { resolveStart, removeWorktree } from "./worktree.ts";
import { runGit } from "./run-git.ts";

/**
 * A checkout a planning agent reads and must not change: every file and directory made unwritable, and
 * what it holds noted before the agent runs, so whatever it changed anyway (an agent running as the
 * worker's own user, or as root, can still chmod its way in) is found afterwards and thrown away with the
 * checkout. Nothing of a planning run is ever kept.
 */

/** Each path under a directory (not following links) with what would change if it were written. */
export type TreeSnapshot = Map<string, string>;

export async function snapshotTree(root: string): Promise<TreeSnapshot> {
  const seen: TreeSnapshot = new Map();
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const info = await lstat(full);
      seen.set(path.relative(root, full), `${info.mode}:${info.size}:${info.mtimeMs}:${info.ino}`);
      if (info.isDirectory()) await walk(full);
    }
  };
  await walk(root);
  return seen;
}

/** Paths added, removed or changed between two snapshots, sorted. Pure. */
export function changedPaths(before: TreeSnapshot, after: TreeSnapshot): string[] {
  const changed = new Set<string>();
  for (const [file, facts] of after) if (before.get(file) !== facts) changed.add(file);
  for (const file of before.keys()) if (!after.has(file)) changed.add(file);
  // A directory's own facts change with what it holds: the files say more.
  const files = [...changed].filter((file) => ![...changed].some((other) => other.startsWith(`${file}/`)));
  return files.sort();
}

/** Takes write permission away from everything under `root`, `root` included (or gives it back). */
export async function setWritable(root: string, writable: boolean): Promise<void> {
  const apply = async (file: string) => {
    const info = await lstat(file);
    if (info.isSymbolicLink()) return;
    const mode = info.mode & 0o7777;
    await chmod(file, writable ? mode | 0o200 : mode & ~0o222);
    if (info.isDirectory()) for (const entry of await readdir(file)) await apply(path.join(file, entry));
  };
  // Directories are opened to writing before their entries are read, and closed after.
  if (writable) await apply(root);
  else {
    const info = await lstat(root);
    if (info.isDirectory())
      for (const entry of await readdir(root)) await setWritable(path.join(root, entry), false);
    if (!info.isSymbolicLink()) await chmod(root, info.mode & 0o7777 & ~0o222);
  }
}

export type ReadOnlyCheckout = { path: string; sha: string; before: TreeSnapshot };

/**
 * The base branch's tip, checked out detached (no branch is made or moved) at `checkoutPath` from the
 * mirror, and locked. `closeReadOnlyCheckout` says what changed and removes it.
 */
export async function openReadOnlyCheckout(opts: {
  mirror: string;
  base: string;
  path: string;
  signal?: AbortSignal;
}): Promise<ReadOnlyCheckout> {
  const signal = opts.signal ? { signal: opts.signal } : {};
  const { baseSha } = await resolveStart(opts.mirror, opts.base, undefined, opts.signal);
  if (await exists(opts.path)) await closeReadOnlyCheckout(opts.mirror, opts.path);
  await runGit(
    ["worktree", "add", "--quiet", "--force", "--detach", "--end-of-options", opts.path, baseSha],
    {
      cwd: opts.mirror,
      ...signal,
    },
  );
  return lockDirectory(opts.path, baseSha);
}

/** A directory (a spec's copy, a checkout) locked, with what it holds noted. */
export async function lockDirectory(dir: string, sha = ""): Promise<ReadOnlyCheckout> {
  await setWritable(dir, false);
  return { path: dir, sha, before: await snapshotTree(dir) };
}

/** What the agent changed in a locked directory (relative paths), before it is thrown away. */
export async function changesIn(checkout: ReadOnlyCheckout): Promise<string[]> {
  return changedPaths(checkout.before, await snapshotTree(checkout.path));
}

/** Gives the checkout's files back their write permission and removes it (and its registration). */
export async function closeReadOnlyCheckout(mirror: string | null, dir: string): Promise<void> {
  if (await exists(dir)) await setWritable(dir, true);
  if (mirror !== null) await removeWorktree(mirror, dir);
  else await rm(dir, { recursive: true, force: true });
}

/**
 * Checkouts under `dir` made more than `olderThanMs` ago: left by a planning run whose worker crashed (a
 * run that ends removes its own). Given back their write permission and removed; their registrations in
 * the mirror go with the next `git worktree prune`. Returns how many went.
 */
export async function sweepCheckouts(dir: string, olderThanMs: number, now = Date.now()): Promise<number> {
  let removed = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const full = path.join(dir, name);
    const info = await lstat(full).catch(() => null);
    if (!info?.isDirectory() || now - info.birthtimeMs < olderThanMs || now - info.ctimeMs < olderThanMs)
      continue;
    await closeReadOnlyCheckout(null, full);
    removed += 1;
  }
  return removed;
}
