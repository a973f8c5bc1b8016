import { chmod, copyFile, lchown, mkdir, readFile, rm, stat, symlink } from "node:fs/promises";
import path from "node:path";
import { chownTree } from "./os-user.ts";

/**
 * The HOME an agent run gets: a fresh directory of its own (so runs never see each other's sessions), into
 * which go
 * - the credential files the operator named (DROVER_AGENT_CREDENTIALS: a login made once as the worker's
 *   user, such as ~/.codex/auth.json), copied read-only to the same place under the run's HOME and removed
 *   when the run ends; their values are returned so everything the run printed can be scrubbed of them;
 * - the CLI's cache directories (the adapter's `cacheDirs`), as links into DROVER_HOME/agent-cache/<agent>,
 *   shared by every run of that agent on the worker, so downloads happen once.
 */

export class AgentCredentialsError extends Error {
  override name = "AgentCredentialsError";
}

export interface AgentHomeInput {
  /** The run's HOME; created if missing. */
  home: string;
  /** The adapter's cache directories, relative to HOME. */
  cacheDirs: readonly string[];
  /** Where this agent's shared caches live: DROVER_HOME/agent-cache/<agent>. */
  cacheRoot: string;
  /** Absolute paths of credential files on the worker, each under `workerHome`. */
  credentials: readonly string[];
  /** The worker's own HOME, which the credential paths are relative to. */
  workerHome: string;
  /** DROVER_AGENT_USER: files and caches are handed to this user. */
  runAs?: { uid: number; gid: number } | undefined;
}

export interface AgentHome {
  /** Values read from the credential files, for scrubbing. */
  secrets: string[];
  /** Removes the copied credentials (the caches stay). */
  cleanup(): Promise<void>;
}

export async function prepareAgentHome(input: AgentHomeInput): Promise<AgentHome> {
  const files = input.credentials.map((source) => ({
    source,
    relative: credentialPath(source, input.workerHome),
  }));
  await mkdir(input.home, { recursive: true });
  // A cache is shared by every run: one that would hold a credential file stays the run's own.
  for (const dir of input.cacheDirs) {
    if (!files.some((file) => isWithin(path.normalize(dir), file.relative))) await linkCache(input, dir);
  }
  const placed: string[] = [];
  const secrets: string[] = [];
  const cleanup = async () => {
    for (const file of placed) await rm(file, { force: true });
  };
  try {
    for (const { source, relative } of files) {
      const content = await readFile(source).catch((error: NodeJS.ErrnoException) => {
        throw new AgentCredentialsError(
          `DROVER_AGENT_CREDENTIALS names ~/${relative}, which cannot be read on this worker (${error.code ?? error.message}): log in there as the worker's user, or take it out of the list`,
        );
      });
      const target = path.join(input.home, relative);
      await mkdir(path.dirname(target), { recursive: true });
      await rm(target, { force: true });
      await copyFile(source, target);
      placed.push(target);
      await chmod(target, 0o400);
      if (input.runAs) await lchown(target, input.runAs.uid, input.runAs.gid);
      secrets.push(...credentialValues(content.toString("utf8")));
    }
  } catch (error) {
    await cleanup();
    throw error;
  }
  return { secrets, cleanup };
}

/**
 * A credential file's place relative to the worker's HOME; refused when it is elsewhere, since the CLI
 * looks for it under HOME. Messages name files as `~/...` and never the worker's own paths: they end up in
 * the status comment on GitHub.
 */
export function credentialPath(source: string, workerHome: string): string {
  const relative = path.relative(workerHome, source);
  if (!path.isAbsolute(source) || relative === "" || !isWithin(".", relative)) {
    throw new AgentCredentialsError(
      `DROVER_AGENT_CREDENTIALS names a file outside the worker's HOME (${path.basename(source)}); name files under it, as ~/.codex/auth.json`,
    );
  }
  return relative;
}

/**
 * Strings in a credential file long enough to be keys or tokens (JSON values, or `KEY=value` lines; `#`
 * comments aside).
 */
export function credentialValues(content: string): string[] {
  const values = new Set<string>();
  const add = (value: string) => {
    const trimmed = value.trim();
    if (trimmed.length >= 16) values.add(trimmed);
  };
  let json: unknown;
  try {
    json = JSON.parse(content);
  } catch {
    json = undefined;
  }
  if (json !== undefined) {
    const stack = [json];
    while (stack.length > 0) {
      const value = stack.pop();
      if (typeof value === "string") add(value);
      else if (value && typeof value === "object") stack.push(...Object.values(value));
    }
  } else {
    for (const line of content.split("\n")) {
      if (line.trimStart().startsWith("#")) continue;
      const match = /^\s*[\w.-]+\s*[=:]\s*["']?(.*?)["']?\s*$/.exec(line);
      add(match ? (match[1] as string) : line);
    }
  }
  return [...values];
}

/** Whether the relative path `inner` is `dir` or below it (`.` holds every path that stays inside). */
function isWithin(dir: string, inner: string): boolean {
  const rest = path.relative(dir, inner);
  return rest === "" || (rest !== ".." && !rest.startsWith(`..${path.sep}`) && !path.isAbsolute(rest));
}

/** Links `dir` under the run's HOME to the agent's shared cache, made (and handed to runAs) when new. */
async function linkCache(input: AgentHomeInput, dir: string): Promise<void> {
  const shared = path.join(input.cacheRoot, dir);
  const made = await mkdir(shared, { recursive: true });
  if (input.runAs && (made !== undefined || (await stat(shared)).uid !== input.runAs.uid)) {
    await chownTree(input.cacheRoot, input.runAs.uid, input.runAs.gid);
  }
  const link = path.join(input.home, dir);
  await mkdir(path.dirname(link), { recursive: true });
  await rm(link, { recursive: true, force: true });
  await symlink(shared, link);
}
