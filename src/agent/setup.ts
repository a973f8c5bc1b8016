import { mkdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import type { SetupCommand } from "../config/schema.ts";
import { runCheck, type CheckResult } from "./checks.ts";
import { agentEnvironment } from "./env.ts";
import { AgentCredentialsError, credentialPath, credentialValues, prepareAgentHome } from "./home.ts";
import { chownTree, type AgentUser } from "./os-user.ts";
import { relativizePaths, scrubSecrets, secretValues, serverPaths } from "./scrub.ts";

/**
 * The repository's `setup` (drover.yml: `npm ci`, `uv sync`), run in a pooled worktree before any agent
 * does: through `/bin/sh -c` like a check, with the agent's environment (never the installation token), as
 * the agent's OS user, with a HOME of the repository's own, `DROVER_HOME/cache/<owner>/<name>/home`,
 * holding the operator's registry settings (DROVER_REGISTRY_FILES), and with the package managers'
 * download caches shared by every setup and agent run of the repository, so a retry downloads nothing
 * it already has.
 */

/** Where a setup runs, and as whom: the same for every worktree of a repository on this machine. */
export interface SetupSurroundings {
  /** DROVER_HOME. */
  home: string;
  /** `owner/name`. */
  repoFullName: string;
  /** DROVER_AGENT_ENV: what the agent's environment passes on besides the base allowlist. */
  passEnv: readonly string[];
  /** DROVER_REGISTRY_FILES: `~/...` files of the worker's user, copied read-only into setup's HOME. */
  registryFiles: readonly string[];
  /** The worker's own HOME, which `registryFiles` are relative to. */
  workerHome: string;
  /** DROVER_AGENT_USER, resolved. */
  runAs?: AgentUser | undefined;
  /** Where the agent's environment is read from. Default: this process's environment. */
  source?: NodeJS.ProcessEnv;
}

/** Setup cannot run as configured on this worker (a registry file it cannot read): an operator's fix. */
export class SetupSurroundingsError extends Error {
  override name = "SetupSurroundingsError";
}

/** What a setup came to, its output cut to a tail with secrets and the worker's paths taken out. */
export type SetupResult = Pick<
  CheckResult,
  "command" | "outcome" | "exitCode" | "durationMs" | "outputTail"
> & {
  ok: boolean;
};

/** Lines of a failed setup's output kept as the attempt's log tail, and of its last line in the reason. */
const REASON_TAIL_LINES = 60;
const REASON_TAIL_CHARS = 6_000;
const REASON_LAST_LINE_CHARS = 300;

/** `DROVER_HOME/cache/<owner>/<name>`: the repository's setup HOME and package-manager caches. */
export function repoCacheDir(home: string, repoFullName: string): string {
  const [owner, name] = repoFullName.split("/");
  if (
    !owner ||
    !name ||
    [owner, name].some((part) => !/^[A-Za-z0-9_.-]+$/.test(part) || /^\.+$/.test(part))
  ) {
    throw new Error(`invalid repository name '${repoFullName}'`);
  }
  return path.join(path.resolve(home), "cache", owner, name);
}

/**
 * The package managers' download caches and stores, pointed into the repository's cache directory. Only
 * downloads are shared: what a worktree installs (node_modules, .venv, target) stays in the worktree.
 */
export function packageCacheEnv(home: string, repoFullName: string): Record<string, string> {
  const dir = repoCacheDir(home, repoFullName);
  const at = (...parts: string[]) => path.join(dir, ...parts);
  return {
    npm_config_cache: at("npm"),
    YARN_CACHE_FOLDER: at("yarn"),
    npm_config_store_dir: at("pnpm"),
    BUN_INSTALL_CACHE_DIR: at("bun"),
    PIP_CACHE_DIR: at("pip"),
    UV_CACHE_DIR: at("uv"),
    POETRY_CACHE_DIR: at("poetry"),
    CARGO_HOME: at("cargo"),
    GOMODCACHE: at("go", "mod"),
    GOCACHE: at("go", "build"),
    BUNDLE_USER_CACHE: at("bundle"),
    COMPOSER_CACHE_DIR: at("composer"),
  };
}

/** The HOME setup runs with: the repository's own, shared by its setups so tools' own state persists. */
export function setupHome(home: string, repoFullName: string): string {
  return path.join(repoCacheDir(home, repoFullName), "home");
}

/**
 * Runs `setup` in `worktree` and says how it went. Never throws for the command's own failure (that is
 * the result); throws when its surroundings cannot be made (a registry file that cannot be read).
 */
export async function runSetup(input: {
  setup: SetupCommand;
  worktree: string;
  surroundings: SetupSurroundings;
  signal?: AbortSignal | undefined;
}): Promise<SetupResult> {
  const { setup, worktree, surroundings: where } = input;
  const homeDir = setupHome(where.home, where.repoFullName);
  const secrets = await placeRegistryFiles(where, homeDir);
  const env = {
    ...agentEnvironment(where.source ?? process.env, where.passEnv),
    ...packageCacheEnv(where.home, where.repoFullName),
    HOME: homeDir,
  };
  await prepareCaches(where, Object.values(packageCacheEnv(where.home, where.repoFullName)));
  if (where.runAs) await chownTree(worktree, where.runAs.uid, where.runAs.gid);
  let result: CheckResult;
  try {
    result = await runCheck(setup, {
      cwd: worktree,
      env,
      signal: input.signal,
      ...(where.runAs ? { runAs: where.runAs } : {}),
    });
  } finally {
    // Git (the worker's user) cleans and moves the worktree later: it refuses a tree another user owns.
    if (where.runAs) await chownTree(worktree, process.getuid?.() ?? 0, process.getgid?.() ?? 0);
  }
  const known = [...secrets, ...secretValues(env), ...secretValues(where.source ?? process.env)];
  const outputTail = publicText(scrubSecrets(result.outputTail, known), {
    worktree,
    home: where.home,
    workerHome: where.workerHome,
  });
  return {
    command: setup.command,
    outcome: result.outcome,
    exitCode: result.exitCode,
    durationMs: result.durationMs,
    outputTail,
    ok: result.outcome === "passed",
  };
}

/**
 * Why an attempt failed at its setup, for the status comment and the check run (one line: the command,
 * how it ended, and the last line it printed); the end of its output goes beside it as the log tail
 * (`setupLogTail`). Both are already free of secrets and of the worker's paths.
 */
export function setupFailureReason(result: SetupResult, timeoutMs: number): string {
  const how =
    result.outcome === "timed-out"
      ? `timed out after ${formatDuration(timeoutMs)} (drover.yml \`setup: { run: ..., timeout: ... }\` allows longer)`
      : result.outcome === "cancelled"
        ? "was cancelled"
        : `failed with exit code ${result.exitCode ?? "none (killed by a signal)"}`;
  const last = lastLines(result.outputTail, 1, REASON_LAST_LINE_CHARS).trim();
  const said = last === "" ? "it printed nothing" : `its output ends: \`${last.replaceAll("`", "'")}\``;
  return `the repository's setup \`${result.command}\` ${how}, so no agent ran; ${said}`;
}

/** The end of a failed setup's output, shown as the attempt's log tail. */
export function setupLogTail(result: SetupResult): string {
  return lastLines(result.outputTail, REASON_TAIL_LINES, REASON_TAIL_CHARS);
}

/**
 * Text the worker's absolute paths are taken out of (src/agent/scrub.ts relativizePaths): the worktree
 * reads as `.`, DROVER_HOME and the worker's HOME as their placeholders.
 */
export function publicText(
  text: string,
  paths: { worktree: string; home: string; workerHome: string },
): string {
  const places = { worktree: paths.worktree, droverHome: paths.home, workerHome: paths.workerHome };
  return relativizePaths(text, serverPaths(places));
}

function lastLines(text: string, lines: number, chars: number): string {
  const kept = text.trimEnd().split("\n").slice(-lines).join("\n");
  return kept.length > chars ? `…${kept.slice(-chars)}` : kept;
}

function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}

/**
 * Copies DROVER_REGISTRY_FILES into setup's HOME (read-only) and returns their values to scrub. The HOME
 * is shared by the repository's setups, which may run at once: a file is copied again only when it
 * changed, so a setup never sees one vanish and come back under it.
 */
async function placeRegistryFiles(where: SetupSurroundings, homeDir: string): Promise<string[]> {
  await mkdir(homeDir, { recursive: true });
  const sources = where.registryFiles.map((file) => expandHome(file, where.workerHome));
  const secrets: string[] = [];
  const stale: string[] = [];
  for (const source of sources) {
    const content = await readFile(source, "utf8").catch(() => null);
    if (content === null) {
      stale.push(source); // prepareAgentHome names it in its error
      continue;
    }
    secrets.push(...credentialValues(content));
    const placed = await readFile(path.join(homeDir, registryPath(source, where.workerHome)), "utf8").catch(
      () => null,
    );
    if (placed !== content) stale.push(source);
  }
  if (stale.length === 0) return secrets;
  const placed = await prepareAgentHome({
    home: homeDir,
    cacheDirs: [],
    cacheRoot: homeDir,
    credentials: stale,
    workerHome: where.workerHome,
    runAs: where.runAs,
  }).catch((error: unknown) => {
    // Its words are about the agent's credentials; these files are the registry settings.
    if (!(error instanceof AgentCredentialsError)) throw error;
    throw new SetupSurroundingsError(
      error.message.replaceAll("DROVER_AGENT_CREDENTIALS", "DROVER_REGISTRY_FILES"),
    );
  });
  // Kept, not cleaned up: the next setup of the repository reads the same files.
  return [...secrets, ...placed.secrets];
}

/** Makes the cache directories, handed to the agent's OS user when they are new or not yet its own. */
async function prepareCaches(where: SetupSurroundings, dirs: readonly string[]): Promise<void> {
  const root = repoCacheDir(where.home, where.repoFullName);
  let made = false;
  for (const dir of dirs) if ((await mkdir(dir, { recursive: true })) !== undefined) made = true;
  if (where.runAs && (made || (await stat(root)).uid !== where.runAs.uid)) {
    await chownTree(root, where.runAs.uid, where.runAs.gid);
  }
}

/** A registry file's place under HOME; refused, naming DROVER_REGISTRY_FILES, when it is not under the worker's. */
function registryPath(source: string, workerHome: string): string {
  try {
    return credentialPath(source, workerHome);
  } catch (error) {
    if (!(error instanceof AgentCredentialsError)) throw error;
    throw new SetupSurroundingsError(
      error.message.replaceAll("DROVER_AGENT_CREDENTIALS", "DROVER_REGISTRY_FILES"),
    );
  }
}

/** `~/x` as a path under the worker's HOME. */
function expandHome(file: string, workerHome: string): string {
  return file === "~" || file.startsWith("~/") ? path.join(workerHome, file.slice(1)) : path.resolve(file);
}

/**
 * The repository's package-manager cache directories (and setup's HOME), made and handed to the agent's
 * OS user: the agent's run writes into them too, with or without a setup.
 */
export async function prepareRepoCaches(where: SetupSurroundings): Promise<void> {
  await mkdir(setupHome(where.home, where.repoFullName), { recursive: true });
  await prepareCaches(where, Object.values(packageCacheEnv(where.home, where.repoFullName)));
}
