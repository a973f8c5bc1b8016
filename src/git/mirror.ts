import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { DROVER_BRANCH_PREFIX, isSafeRefName } from "./branch.ts";
import { assertCredentialFreeUrl, credentialEnv, QUIET_FETCH } from "./credentials.ts";
import { exists, isErrno, readJsonFile } from "./fs-util.ts";
import { withPathLock } from "./path-lock.ts";
import { GitError, runGit } from "./run-git.ts";

/** Default limit for the mirror's fetch (a first fetch of a large repository is slow). */
export const DEFAULT_FETCH_TIMEOUT_MS = 10 * 60_000;

const CONFIG_HASH_FILE = "drover-config.sha256";
const REPO_PART = /^[A-Za-z0-9_.-]+$/;

/**
 * How much history a mirror made new fetches of its base branch: enough for merge bases and the prompts'
 * logs of a task branch made from the base, without a large repository's whole history (curl's 39,000
 * commits) inside the first attempt. Later fetches are plain fetches, so the history only grows from here.
 */
export const MIRROR_DEPTH = 1000;

export interface EnsureMirrorOptions {
  /** DROVER_HOME. */
  home: string;
  /** `owner/name`. */
  repoFullName: string;
  /** Plain clone URL, without credentials. */
  cloneUrl: string;
  /** The base branch: the one branch of the repository's own the mirror fetches (see ensureMirror). */
  base: string;
  /**
   * Other branches of the repository's own (never `drover/*`) that the caller needs as they are on
   * GitHub: a pull request's base that is not the task's base branch, for a merge.
   */
  alsoBranches?: readonly string[];
  token?: string;
  signal?: AbortSignal;
  /** Limit for the fetch; waiting for the mirror's lock gets the same again. Default 10 minutes. */
  timeoutMs?: number;
  /**
   * Asked under the mirror's lock, with what the mirror holds now: whether it must fetch. Without it the
   * mirror always fetches. A mirror made new always fetches, whatever it says.
   */
  needsFetch?: (state: MirrorState) => boolean;
  /** Commits of the base branch a mirror made new fetches. Default MIRROR_DEPTH. */
  depth?: number;
}

/**
 * What a mirror last fetched, kept beside it (`<name>.state.json`): when, and where each branch it
 * fetched pointed then. Written after each successful fetch, so an attempt can tell whether the mirror
 * is already as new as its task needs without asking GitHub.
 */
export const MirrorState = z.object({
  fetchedAt: z.string(),
  branches: z.record(z.string(), z.string()),
});
export type MirrorState = z.infer<typeof MirrorState>;

/** `<home>/mirrors/<owner>/<name>.git`, refusing names that could step outside it. */
export function mirrorPath(home: string, repoFullName: string): string {
  const parts = repoFullName.split("/");
  const [owner, name] = parts;
  const valid = (part: string | undefined): part is string =>
    part !== undefined && REPO_PART.test(part) && part !== "." && part !== "..";
  if (parts.length !== 2 || !valid(owner) || !valid(name)) {
    throw new GitError(`invalid repository name '${repoFullName}'`, { subcommand: "mirror" });
  }
  return path.join(path.resolve(home), "mirrors", owner, `${name}.git`);
}

/** `<home>/mirrors/<owner>/<name>.state.json`, beside the mirror. */
export function mirrorStatePath(mirror: string): string {
  return mirror.replace(/\.git$/, ".state.json");
}

/** The mirror's state file, or null when it has none (never fetched by this version) or it is damaged. */
export async function readMirrorState(mirror: string): Promise<MirrorState | null> {
  return readJsonFile(mirrorStatePath(mirror), MirrorState);
}

/**
 * Whether a claim must fetch before it starts: only when the mirror is older than the task needs. With
 * the base head the latest push webhook reported (`baseSha`), the mirror must point there; without it,
 * the mirror must have been fetched after the attempt was made (the task's trigger), since a push before
 * that could be missing. A mirror with no state, or that never fetched the base, always fetches.
 */
export function mirrorNeedsFetch(input: {
  state: MirrorState | null;
  base: string;
  /** `repositories.base_sha`: null when unknown, or when it is not this base branch's. */
  baseSha: string | null;
  /** When the attempt was created. */
  since: Date;
}): boolean {
  const { state, base, baseSha, since } = input;
  const held = state?.branches[base];
  if (state === null || held === undefined) return true;
  if (baseSha !== null) return held !== baseSha;
  const fetchedAt = Date.parse(state.fetchedAt);
  return !(fetchedAt >= since.getTime());
}

/**
 * Creates (first use) and fetches the bare mirror of a repository; returns its path.
 *
 * The mirror fetches only what tasks need: the base branch (and `alsoBranches`), each with an explicit
 * refspec onto its own `refs/heads/`. Drover's own `drover/*` branches are fetched on demand, elsewhere
 * (src/git/fetch-branch.ts): they are checked out in task worktrees, so a fetch onto them would fail or
 * move them under a running agent. A mirror made new is shallow: its first fetch takes the base branch's
 * last MIRROR_DEPTH commits, so a large repository's first task does not wait for its whole history.
 */
export async function ensureMirror(opts: EnsureMirrorOptions): Promise<string> {
  const mirror = mirrorPath(opts.home, opts.repoFullName);
  assertCredentialFreeUrl(opts.cloneUrl);
  const branches = [opts.base, ...(opts.alsoBranches ?? [])].filter((b, i, all) => all.indexOf(b) === i);
  for (const branch of branches) {
    if (!isSafeRefName(branch) || branch.startsWith(DROVER_BRANCH_PREFIX)) {
      throw new GitError(`invalid branch '${branch}' for the mirror to fetch`, { subcommand: "fetch" });
    }
  }
  const timeoutMs = opts.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  const signal = opts.signal ? { signal: opts.signal } : {};
  await mkdir(path.dirname(mirror), { recursive: true });

  return withPathLock(
    `${mirror}.lock`,
    async () => {
      let made = false;
      if (await exists(mirror)) {
        await assertMirrorUntouched(mirror);
        const url = await runGit(["config", "--get", "remote.origin.url"], { cwd: mirror, ...signal });
        if (url !== opts.cloneUrl) {
          // The repository was renamed or transferred; the hash proved the old config was ours.
          await runGit(["config", "remote.origin.url", opts.cloneUrl], { cwd: mirror, ...signal });
          await recordMirrorConfig(mirror);
        }
      } else {
        made = await createMirror(mirror, opts.cloneUrl, opts.signal);
      }
      const state = await readMirrorState(mirror);
      const missing = branches.some((branch) => state?.branches[branch] === undefined);
      if (!made && !missing && state !== null && opts.needsFetch && !opts.needsFetch(state)) return mirror;
      // Shallow only while the mirror holds no history yet: `--depth` on a mirror that has some would cut
      // it back, and an older mirror keeps the whole history it has.
      const shallow = made || state === null ? await hasNoCommits(mirror) : false;
      await runGit(
        [
          ...QUIET_FETCH,
          ...(shallow ? [`--depth=${opts.depth ?? MIRROR_DEPTH}`] : []),
          "origin",
          ...branches.map((branch) => `+refs/heads/${branch}:refs/heads/${branch}`),
        ],
        { cwd: mirror, env: credentialEnv(opts.token), timeoutMs, ...signal },
      );
      await writeMirrorState(mirror, state, branches, opts.signal);
      return mirror;
    },
    { timeoutMs, ...signal },
  );
}

/** Deepenings tried before a mirror fetches the base branch's whole history. */
const MAX_DEEPENINGS = 5;

/**
 * Makes sure a shallow mirror holds the history joining `commit` (a task branch's head, fetched) to the
 * base branch, so a merge and the `base...head` ranges find their merge base: a branch forked before the
 * mirror's shallow history began brings its own commits down to the fork point, but the base's history
 * stops short of it. The base is deepened MIRROR_DEPTH commits at a time, then fetched whole. Does
 * nothing for a mirror with its whole history.
 */
export async function deepenToMergeBase(
  opts: Omit<EnsureMirrorOptions, "needsFetch" | "alsoBranches"> & { commit: string },
): Promise<void> {
  const mirror = mirrorPath(opts.home, opts.repoFullName);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  const signal = opts.signal ? { signal: opts.signal } : {};
  const git = (args: string[]) => runGit(args, { cwd: mirror, ...signal });
  const joined = () =>
    git(["merge-base", "--end-of-options", opts.commit, `refs/heads/${opts.base}`]).then(
      () => true,
      () => false,
    );
  const shallow = async () => (await git(["rev-parse", "--is-shallow-repository"])) === "true";
  if (!(await shallow()) || (await joined())) return;
  await withPathLock(
    `${mirror}.lock`,
    async () => {
      await assertMirrorUntouched(mirror);
      const before = await readMirrorState(mirror);
      for (let n = 0; (await shallow()) && !(await joined()); n += 1) {
        const deepen = n < MAX_DEEPENINGS ? [`--deepen=${opts.depth ?? MIRROR_DEPTH}`] : ["--unshallow"];
        await runGit(
          [...QUIET_FETCH, ...deepen, "origin", `+refs/heads/${opts.base}:refs/heads/${opts.base}`],
          { cwd: mirror, env: credentialEnv(opts.token), timeoutMs, ...signal },
        );
        await writeMirrorState(mirror, before, [opts.base], opts.signal);
        if (n > MAX_DEEPENINGS) break;
      }
    },
    { timeoutMs, ...signal },
  );
}

/** A mirror made new, or one whose making was cut short before its first fetch. */
async function hasNoCommits(mirror: string): Promise<boolean> {
  const refs = await runGit(["for-each-ref", "--count=1", "--format=%(refname)"], { cwd: mirror });
  return refs === "";
}

/** Records what the fetch brought (whole or not at all), keeping branches fetched before. */
async function writeMirrorState(
  mirror: string,
  before: MirrorState | null,
  branches: readonly string[],
  signal: AbortSignal | undefined,
): Promise<void> {
  const state: MirrorState = {
    fetchedAt: new Date().toISOString(),
    branches: { ...before?.branches },
  };
  for (const branch of branches) {
    state.branches[branch] = await runGit(
      ["rev-parse", "--verify", "--end-of-options", `refs/heads/${branch}^{commit}`],
      { cwd: mirror, ...(signal ? { signal } : {}) },
    );
  }
  const file = mirrorStatePath(mirror);
  const staging = `${file}.${process.pid}-${randomBytes(3).toString("hex")}`;
  await writeFile(staging, `${JSON.stringify(state)}\n`);
  await rename(staging, file);
}

/**
 * Builds the mirror beside its final path and renames it into place, so the mirror path either does
 * not exist or is complete, config hash included.
 */
async function createMirror(
  mirror: string,
  cloneUrl: string,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  const staging = `${mirror}.init-${process.pid}-${randomBytes(4).toString("hex")}`;
  const run = (args: string[]): Promise<string> =>
    runGit(args, { cwd: staging, ...(signal ? { signal } : {}) });
  try {
    await mkdir(staging);
    // No template: no sample hooks or other files we did not choose.
    await run(["init", "--quiet", "--bare", "--template=", "."]);
    await run(["config", "remote.origin.url", cloneUrl]);
    await run(["config", "remote.origin.fetch", "+refs/heads/*:refs/heads/*"]);
    await run(["config", "--add", "remote.origin.fetch", `^refs/heads/${DROVER_BRANCH_PREFIX}*`]);
    await recordMirrorConfig(staging);
    await rename(staging, mirror);
    return true;
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    // Only another process that broke a stale lock at the same time can get here first; theirs is as good.
    if (isErrno(error, "ENOTEMPTY") || isErrno(error, "EEXIST")) return false;
    throw error;
  }
}

async function recordMirrorConfig(mirror: string): Promise<void> {
  await writeFile(path.join(mirror, CONFIG_HASH_FILE), `${await configHash(mirror)}\n`);
}

/**
 * Throws unless the mirror's `config` is byte for byte what Drover last wrote. Agents' worktrees share
 * this git dir, so an agent could point the remote or a `url.*.insteadOf` elsewhere, or add a credential
 * helper, to catch the token; every fetch and push that carries the token checks this first.
 */
export async function assertMirrorUntouched(mirror: string): Promise<void> {
  let expected: string;
  try {
    expected = (await readFile(path.join(mirror, CONFIG_HASH_FILE), "utf8")).trim();
  } catch (error) {
    throw new GitError(`mirror ${mirror} has no record of its config; refusing to use credentials`, {
      subcommand: "config",
      cause: error,
    });
  }
  let actual: string;
  try {
    actual = await configHash(mirror);
  } catch (error) {
    throw new GitError(`mirror ${mirror} config cannot be read; refusing to use credentials`, {
      subcommand: "config",
      cause: error,
    });
  }
  if (actual !== expected) {
    throw new GitError("mirror config changed since Drover wrote it; refusing to use credentials", {
      subcommand: "config",
    });
  }
}

async function configHash(mirror: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(path.join(mirror, "config")))
    .digest("hex");
}
