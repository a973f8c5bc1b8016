import { lstat, opendir } from "node:fs/promises";
import path from "node:path";

/** Entries looked at per check before giving up and counting the tree as changed (a huge worktree). */
const MAX_ENTRIES = 200_000;

/**
 * Notices an agent that has stopped working: it printed nothing and changed no file in its worktree for
 * `idleMs` (a CLI waiting on a network that is not there, or on a prompt nobody will answer). Output is
 * told with `activity()` (cheap: it only notes the time); the worktree is looked at only once output has
 * been quiet for the whole period, so an agent that talks costs nothing and one that works silently
 * (a long build) costs one walk of the tree per period.
 */
export class IdleWatch {
  readonly #cwd: string;
  readonly #idleMs: number;
  readonly #onIdle: (idleMs: number) => void;
  #last = Date.now();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(cwd: string, idleMs: number, onIdle: (idleMs: number) => void) {
    this.#cwd = cwd;
    this.#idleMs = idleMs;
    this.#onIdle = onIdle;
    this.#arm(idleMs);
  }

  activity(): void {
    this.#last = Date.now();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #arm(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#check(), Math.max(ms, 50));
  }

  async #check(): Promise<void> {
    const quietFor = Date.now() - this.#last;
    if (quietFor < this.#idleMs) return this.#arm(this.#idleMs - quietFor);
    const changed = await changedSince(this.#cwd, this.#last).catch(() => Date.now());
    if (this.#stopped) return;
    if (changed !== undefined) {
      this.#last = Math.max(this.#last, Math.min(changed, Date.now()));
      return this.#arm(this.#idleMs - (Date.now() - this.#last));
    }
    this.#stopped = true;
    this.#onIdle(this.#idleMs);
  }
}

/**
 * The modification time of some entry of the tree (`.git` aside) newer than `since`, or undefined when
 * none is. A deleted or renamed file shows as its directory's change.
 */
export async function changedSince(root: string, since: number): Promise<number | undefined> {
  const stack = [root];
  let seen = 0;
  while (stack.length > 0) {
    const dir = stack.pop() as string;
    const info = await lstat(dir).catch(() => undefined);
    if (info && info.mtimeMs > since) return info.mtimeMs;
    const entries = await opendir(dir).catch(() => undefined);
    if (!entries) continue;
    for await (const entry of entries) {
      seen += 1;
      if (seen > MAX_ENTRIES) return Date.now();
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== ".git") stack.push(full);
        continue;
      }
      const file = await lstat(full).catch(() => undefined);
      if (file && file.mtimeMs > since) return file.mtimeMs;
    }
  }
  return undefined;
}
