import { mkdir } from "node:fs/promises";
import { isSafeRefName } from "../../git/branch.ts";
import { GitError, runGit } from "../../git/run-git.ts";
import { assertBranch, assertRepoPath, git, gitRaw, SHA, type BareCallOptions } from "./git-call.ts";

// Refs and blobs of the sandbox's bare repositories, the stand-in for GitHub's copies: no worktree, and
// every ref update is a compare-and-swap so a push through http-backend at the same moment is never lost.

/** Creates an empty bare repository (no template files) whose HEAD names `defaultBranch`. */
export async function initBareRepository(dir: string, opts: { defaultBranch: string }): Promise<void> {
  assertBranch(opts.defaultBranch, "init");
  await mkdir(dir, { recursive: true });
  await runGit(["init", "--quiet", "--bare", "--template=", `--initial-branch=${opts.defaultBranch}`, "."], {
    cwd: dir,
  });
}

/** Every ref (`refs/heads/main`, `refs/tags/v1`, ...) and the object it points to. */
export async function listRefs(bare: string, opts: BareCallOptions = {}): Promise<Map<string, string>> {
  const out = await git(bare, ["for-each-ref", "--format=%(objectname) %(refname)"], opts);
  const refs = new Map<string, string>();
  for (const line of out.split("\n")) {
    const space = line.indexOf(" ");
    if (space > 0) refs.set(line.slice(space + 1), line.slice(0, space));
  }
  return refs;
}

/**
 * The commit `ref` names (`refs/heads/main`, `main`, `v1.0` or a full sha), or null when there is none.
 * Throws a GitError for a name that is not a valid ref name.
 */
export async function resolveRef(
  bare: string,
  ref: string,
  opts: BareCallOptions = {},
): Promise<string | null> {
  if (!SHA.test(ref) && ref !== "HEAD" && !isSafeRefName(ref)) {
    throw new GitError(`invalid ref name '${ref}'`, { subcommand: "rev-parse" });
  }
  try {
    return await git(bare, ["rev-parse", "--verify", "--quiet", "--end-of-options", `${ref}^{commit}`], opts);
  } catch (error) {
    if (error instanceof GitError && error.exitCode === 1) return null;
    throw error;
  }
}

/**
 * The content of `filePath` at `ref`; null when the ref or the path does not exist or the path is not a
 * file (a directory or a submodule).
 */
export async function readBlob(
  bare: string,
  ref: string,
  filePath: string,
  opts: BareCallOptions = {},
): Promise<Buffer | null> {
  assertRepoPath(filePath, "cat-file");
  const commit = await resolveRef(bare, ref, opts);
  if (commit === null) return null;
  // One `--batch` call answers "<oid> <type> <size>\n<content>\n", or "<name> missing\n".
  const { stdout } = await gitRaw(bare, ["cat-file", "--batch"], {
    ...opts,
    input: `${commit}:${filePath}\n`,
  });
  const newline = stdout.indexOf(0x0a);
  const [, type, size] = stdout.subarray(0, newline).toString("utf8").split(" ");
  if (type !== "blob" || size === undefined) return null;
  return stdout.subarray(newline + 1, newline + 1 + Number(size));
}

/** `update-ref -d <ref> <old>`: removes `ref` only if it still points to `old`. */
export async function deleteRef(
  bare: string,
  ref: string,
  old: string,
  opts: BareCallOptions,
): Promise<void> {
  try {
    await git(bare, ["update-ref", "-d", "--end-of-options", ref, old], opts);
  } catch (error) {
    const now = await resolveRef(bare, ref, opts);
    if (now === old) throw error;
    throw new GitError(
      `${ref} moved while it was being deleted (expected ${old}, found ${now ?? "no ref"})`,
      {
        subcommand: "update-ref",
        cause: error,
      },
    );
  }
}

/** `update-ref <ref> <new> <old>`; with `old` null the ref must not exist yet. */
export async function swapRef(
  bare: string,
  ref: string,
  sha: string,
  old: string | null,
  opts: BareCallOptions,
): Promise<void> {
  try {
    await git(bare, ["update-ref", "--end-of-options", ref, sha, old ?? ""], opts);
  } catch (error) {
    const now = await resolveRef(bare, ref, opts);
    if (now === old) throw error;
    const [expected, found] = [old ?? "no ref", now ?? "no ref"];
    throw new GitError(
      `${ref} moved while it was being updated (expected ${expected}, found ${found}); not changed`,
      {
        subcommand: "update-ref",
        cause: error,
      },
    );
  }
}
