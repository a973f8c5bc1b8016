import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import type { DroverConfig } from "../../src/config/schema.ts";
import type { Repository } from "../../src/db/repositories.ts";
import { exists } from "../../src/git/fs-util.ts";
import { DEFAULT_FETCH_TIMEOUT_MS, ensureMirror, mirrorPath } from "../../src/git/mirror.ts";
import { withPathLock } from "../../src/git/path-lock.ts";
import { runGit } from "../../src/git/run-git.ts";
import { advancePool, fillPool } from "../../src/git/pool.ts";
import type { JobDeps } from "../deps.ts";
import { poolSetup } from "../run-task/worktree.ts";

/**
 * What the warm-pool job does to the disk, behind one seam: the mirror (src/git/mirror.ts) and the pool of
 * ready worktrees (src/git/pool.ts, written alongside this job). The job decides; these do.
 *
 */

/**
 * One repository's pool on this machine, as the job asks for it. No token: the pool runs `setup` with the
 * agent's environment (src/git/pool.ts takes a runner built from `deps`, `repository` and `config`).
 */
export type PoolTarget = {
  /** DROVER_HOME, absolute. */
  home: string;
  repoFullName: string;
  /** The repository's mirror (fetched, or found current). */
  mirror: string;
  /** The base branch the pool's worktrees sit at, and its tip in the mirror now. */
  base: string;
  sha: string;
  repository: Repository;
  /** drover.yml as the repository's newest task recorded it: `setup` and `pool` ({ min, max }) above all. */
  config: DroverConfig;
  deps: JobDeps;
  log: Logger;
  signal: AbortSignal | undefined;
};

export type PoolSteps = {
  /** Puts the ready, unclaimed worktrees on `sha` (the base moved), running `setup` again where needed. */
  advance: (target: PoolTarget) => Promise<void>;
  /** Makes ready worktrees at `sha`, `setup` run, until `pool.min` are ready; none when there are. */
  fill: (target: PoolTarget) => Promise<void>;
};

/**
 * The pool as this job reaches it (src/git/pool.ts), `setup` run as run-task runs it (poolSetup: the
 * agent's environment and user, the repository's HOME and package caches).
 */
export const POOL: PoolSteps = {
  advance: async (target) => {
    const setup = await poolSetup(target.deps, target.repository, target.config);
    const moved = await advancePool({ ...poolOf(target), setup });
    target.log.info({ sha: target.sha, ...moved }, "pool advanced");
  },
  fill: async (target) => {
    const setup = await poolSetup(target.deps, target.repository, target.config);
    const filled = await fillPool({ ...poolOf(target), pool: target.config.pool, setup });
    if (filled.setupFailed.length > 0)
      target.log.warn(
        { slots: filled.setupFailed },
        "setup failed in new pooled worktrees; a claim runs it again",
      );
    target.log.info({ made: filled.made.length, recycled: filled.recycled }, "pool filled");
  },
};

function poolOf(target: PoolTarget) {
  return { home: target.home, repoFullName: target.repoFullName, base: target.base, signal: target.signal };
}

/**
 * The tip of `base` in the repository's mirror on this machine; null when there is no mirror yet, or it
 * does not hold the branch (either way: a fetch is due). Read from the mirror's own ref, the truth the
 * pool's worktrees are made from.
 */
export async function mirrorTip(home: string, repoFullName: string, base: string): Promise<string | null> {
  const mirror = mirrorPath(home, repoFullName);
  if (!(await exists(mirror))) return null;
  try {
    return await runGit(
      ["rev-parse", "--verify", "--quiet", "--end-of-options", `refs/heads/${base}^{commit}`],
      {
        cwd: mirror,
      },
    );
  } catch {
    return null;
  }
}

/**
 * Creates or fetches the mirror (the installation token goes to git's environment only). `base` is the
 * branch the pool needs: today's ensureMirror fetches every branch and ignores it; src/git/pool.ts's
 * ensureMirror fetches that one (it is passed through as is, so both take it).
 */
export async function fetchMirror(input: {
  home: string;
  repoFullName: string;
  cloneUrl: string;
  base: string;
  token: string;
  signal: AbortSignal | undefined;
}): Promise<string> {
  const options = {
    home: input.home,
    repoFullName: input.repoFullName,
    cloneUrl: input.cloneUrl,
    base: input.base,
    token: input.token,
    ...(input.signal ? { signal: input.signal } : {}),
  };
  return ensureMirror(options);
}

/**
 * How long a warm-pool job waits for another one of the same repository on this machine: a first clone and
 * a few `setup` runs. Past it, the job fails and the queue tries it again later.
 */
const WARM_LOCK_WAIT_MS = 3 * DEFAULT_FETCH_TIMEOUT_MS;

/**
 * Runs `fn` as the only warm-pool job of the repository on this machine (worker processes share
 * DROVER_HOME): two would both find the pool short and fill it twice. A lock of its own beside the
 * mirror's, not the mirror's (`<mirror>.lock`): ensureMirror takes that one for the fetch itself, and
 * attempts take it too, so holding it across a `setup` would hold up every attempt's fetch for minutes.
 */
export async function withWarmLock<T>(
  home: string,
  repoFullName: string,
  signal: AbortSignal | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  const mirror = mirrorPath(home, repoFullName);
  await mkdir(path.dirname(mirror), { recursive: true });
  return withPathLock(`${mirror}.warm.lock`, fn, {
    timeoutMs: WARM_LOCK_WAIT_MS,
    ...(signal ? { signal } : {}),
  });
}
