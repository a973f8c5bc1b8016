import { createHash } from "node:crypto";
import path from "node:path";
import { GitError, runGit } from "./run-git.ts";

/**
 * The setup key: what a worktree's `setup` (drover.yml) ran for. Installing dependencies depends on the
 * command and on the lockfiles it reads, so a pooled worktree whose key matches the commit it is put on
 * has nothing to install again; any other change to the tree (the code a task works on) leaves the key
 * alone. Lockfiles are read from the commit's tree (blob ids, `git ls-tree`), never from the worktree,
 * so what an agent left behind cannot change the key.
 */

/** File names (anywhere in the tree) whose content decides what a package manager installs. */
const LOCKFILE_NAMES: ReadonlySet<string> = new Set([
  // JavaScript
  "package-lock.json",
  "npm-shrinkwrap.json",
  "pnpm-lock.yaml",
  "pnpm-workspace.yaml",
  "yarn.lock",
  ".yarnrc.yml",
  "bun.lockb",
  "bun.lock",
  "deno.lock",
  // Rust, Go
  "Cargo.lock",
  "go.sum",
  "go.work.sum",
  // Python
  "poetry.lock",
  "uv.lock",
  "Pipfile.lock",
  "pdm.lock",
  "conda-lock.yml",
  // Ruby, PHP, Elixir, Dart, Swift, .NET, JVM, Nix, CocoaPods
  "Gemfile.lock",
  "composer.lock",
  "mix.lock",
  "pubspec.lock",
  "Package.resolved",
  "packages.lock.json",
  "gradle.lockfile",
  "flake.lock",
  "Podfile.lock",
]);

/** `requirements.txt`, `requirements-dev.txt`, `requirements/...` files are pip's lockfiles. */
const REQUIREMENTS = /^requirements[\w.-]*\.txt$/;

/** Whether a path in the tree is a lockfile that `setup` depends on. */
export function isLockfile(file: string): boolean {
  const name = path.posix.basename(file);
  if (LOCKFILE_NAMES.has(name) || REQUIREMENTS.test(name)) return true;
  // pip's `-r requirements/base.txt` layout.
  return path.posix.basename(path.posix.dirname(file)) === "requirements" && name.endsWith(".txt");
}

/**
 * The setup key from the setup command and the lockfiles found in a tree (`path` → blob id): equal
 * exactly when the same command would install from the same lockfiles.
 */
export function setupKeyOf(command: string, lockfiles: ReadonlyMap<string, string>): string {
  const hash = createHash("sha256").update(`${command}\0`);
  for (const file of [...lockfiles.keys()].sort()) hash.update(`${file}\0${lockfiles.get(file)}\n`);
  return hash.digest("hex").slice(0, 32);
}

/** The lockfiles in commit `sha`'s tree (read from `repo`, a mirror or worktree), path → blob id. */
export async function lockfilesAt(
  repo: string,
  sha: string,
  signal?: AbortSignal,
): Promise<Map<string, string>> {
  if (!/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(sha)) {
    throw new GitError(`invalid commit '${sha}'`, { subcommand: "ls-tree" });
  }
  const listing = await runGit(["ls-tree", "-r", "-z", "--full-tree", "--end-of-options", sha], {
    cwd: repo,
    ...(signal ? { signal } : {}),
  });
  const found = new Map<string, string>();
  for (const entry of listing.split("\0")) {
    // `<mode> SP <type> SP <object> TAB <path>`
    const tab = entry.indexOf("\t");
    if (tab < 0) continue;
    const [, type, object] = entry.slice(0, tab).split(" ");
    const file = entry.slice(tab + 1);
    if (type === "blob" && object !== undefined && isLockfile(file)) found.set(file, object);
  }
  return found;
}

/** The setup key of `command` at commit `sha`; null when the repository has no `setup`. */
export async function setupKeyAt(
  repo: string,
  sha: string,
  command: string | undefined,
  signal?: AbortSignal,
): Promise<string | null> {
  if (command === undefined) return null;
  return setupKeyOf(command, await lockfilesAt(repo, sha, signal));
}
