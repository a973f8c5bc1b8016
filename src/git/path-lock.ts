import { open, readFile, rm, stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { isErrno } from "./fs-util.ts";
import { GitError } from "./run-git.ts";

/** A lock older than this is taken over even if its pid looks alive (the pid may have been reused). */
const STALE_AFTER_MS = 60 * 60_000;
/** A lock file still empty after this long lost its writer between create and write. */
const EMPTY_STALE_AFTER_MS = 10_000;

const inProcess = new Map<string, Promise<void>>();

export interface PathLockOptions {
  signal?: AbortSignal;
  /** Give up waiting after this long. */
  timeoutMs: number;
}

/**
 * Runs `fn` while holding `lockPath`, serialised first within this process (a promise chain per path)
 * and then across processes (a file created with O_EXCL holding our pid).
 *
 * A lock whose pid is dead (or that is very old) is stale and removed. Two waiters that both find the
 * same stale lock can, rarely, both proceed; callers keep their critical section safe to run twice
 * (git locks each ref it updates; mirror creation is an atomic rename). DROVER_HOME is per machine, so
 * a pid is meaningful.
 */
export async function withPathLock<T>(
  lockPath: string,
  fn: () => Promise<T>,
  opts: PathLockOptions,
): Promise<T> {
  const previous = inProcess.get(lockPath) ?? Promise.resolve();
  let release = (): void => {};
  const mine = new Promise<void>((resolve) => (release = resolve));
  const tail = previous.then(() => mine);
  inProcess.set(lockPath, tail);
  try {
    await abortable(previous, opts.signal);
    await acquireFileLock(lockPath, opts);
    try {
      return await fn();
    } finally {
      await rm(lockPath, { force: true });
    }
  } finally {
    release();
    if (inProcess.get(lockPath) === tail) inProcess.delete(lockPath);
  }
}

async function acquireFileLock(lockPath: string, opts: PathLockOptions): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      const handle = await open(lockPath, "wx");
      try {
        await handle.writeFile(`${process.pid}\n`);
      } finally {
        await handle.close();
      }
      return;
    } catch (error) {
      if (!isErrno(error, "EEXIST")) throw error;
    }
    if (await isStale(lockPath)) {
      await rm(lockPath, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new GitError(`timed out after ${opts.timeoutMs} ms waiting for lock ${lockPath}`, {
        subcommand: "lock",
        timedOut: true,
      });
    }
    await sleep(50 + Math.random() * 100, undefined, opts.signal ? { signal: opts.signal } : {});
  }
}

async function isStale(lockPath: string): Promise<boolean> {
  let content: string;
  let ageMs: number;
  try {
    [content, ageMs] = await Promise.all([
      readFile(lockPath, "utf8"),
      stat(lockPath).then((s) => Date.now() - s.mtimeMs),
    ]);
  } catch (error) {
    if (isErrno(error, "ENOENT")) return false; // released meanwhile: just retry
    throw error;
  }
  if (ageMs > STALE_AFTER_MS) return true;
  const pid = Number.parseInt(content, 10);
  if (!Number.isSafeInteger(pid) || pid <= 0) return ageMs > EMPTY_STALE_AFTER_MS;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return isErrno(error, "ESRCH");
  }
}

function abortable(promise: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return promise;
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      () => (signal.removeEventListener("abort", onAbort), resolve()),
      (error: unknown) => (signal.removeEventListener("abort", onAbort), reject(error)),
    );
  });
}
