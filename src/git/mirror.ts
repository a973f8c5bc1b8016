import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { DROVER_BRANCH_PREFIX } from "./branch.ts";
import { assertCredentialFreeUrl, credentialEnv, TOKEN_SAFE_FLAGS } from "./credentials.ts";
import { exists, isErrno } from "./fs-util.ts";
import { withPathLock } from "./path-lock.ts";
import { GitError, runGit } from "./run-git.ts";

/** Default limit for the mirror's fetch (a first fetch of a large repository is slow). */
export const DEFAULT_FETCH_TIMEOUT_MS = 10 * 60_000;

const CONFIG_HASH_FILE = "drover-config.sha256";
const REPO_PART = /^[A-Za-z0-9_.-]+$/;

export interface EnsureMirrorOptions {
  /** DROVER_HOME. */
  home: string;
  /** `owner/name`. */
  repoFullName: string;
  /** Plain clone URL, without credentials. */
  cloneUrl: string;
  token?: string;
  signal?: AbortSignal;
  /** Limit for the fetch; waiting for the mirror's lock gets the same again. Default 10 minutes. */
  timeoutMs?: number;
}

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

/**
 * Creates (first use) and fetches the bare mirror of a repository; returns its path.
 *
 * The mirror fetches `refs/heads/*` onto its own `refs/heads/*` except `drover/*`: those are the
 * branches checked out in task worktrees, and a fetch would refuse to update them (failing the whole
 * fetch) or `--prune` would delete them under a running agent. Drover's own refs are the truth for them.
 */
export async function ensureMirror(opts: EnsureMirrorOptions): Promise<string> {
  const mirror = mirrorPath(opts.home, opts.repoFullName);
  assertCredentialFreeUrl(opts.cloneUrl);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  const signal = opts.signal ? { signal: opts.signal } : {};
  await mkdir(path.dirname(mirror), { recursive: true });

  return withPathLock(
    `${mirror}.lock`,
    async () => {
      if (await exists(mirror)) {
        await assertMirrorUntouched(mirror);
        const url = await runGit(["config", "--get", "remote.origin.url"], { cwd: mirror, ...signal });
        if (url !== opts.cloneUrl) {
          // The repository was renamed or transferred; the hash proved the old config was ours.
          await runGit(["config", "remote.origin.url", opts.cloneUrl], { cwd: mirror, ...signal });
          await recordMirrorConfig(mirror);
        }
      } else {
        await createMirror(mirror, opts.cloneUrl, opts.signal);
      }
      await runGit([...TOKEN_SAFE_FLAGS, "fetch", "--prune", "--quiet", "origin"], {
        cwd: mirror,
        env: credentialEnv(opts.token),
        timeoutMs,
        ...signal,
      });
      return mirror;
    },
    { timeoutMs, ...signal },
  );
}

/**
 * Builds the mirror beside its final path and renames it into place, so the mirror path either does
 * not exist or is complete, config hash included.
 */
async function createMirror(
  mirror: string,
  cloneUrl: string,
  signal: AbortSignal | undefined,
): Promise<void> {
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
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    // Only another process that broke a stale lock at the same time can get here first; theirs is as good.
    if (isErrno(error, "ENOTEMPTY") || isErrno(error, "EEXIST")) return;
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
