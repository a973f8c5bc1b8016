import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { isSafeRefName } from "../../git/branch.ts";
import { DEFAULT_GIT_TIMEOUT_MS, GitError, runGit, type GitErrorDetails } from "../../git/run-git.ts";

// Operations on the sandbox's bare repositories, the stand-in for GitHub's copies: no worktree, and every
// ref update is a compare-and-swap so a push through http-backend at the same moment is never lost.

/** Hooks and signing never run here: these repositories belong to the sandbox, not to a user. */
const SAFE_FLAGS = ["-c", "core.hooksPath=/dev/null", "-c", "commit.gpgSign=false"];
const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const STDERR_TAIL_CHARS = 2_000;

export interface Identity {
  name: string;
  email: string;
}

export interface BareCallOptions {
  signal?: AbortSignal;
}

export interface CommitFilesOptions extends BareCallOptions {
  branch: string;
  /** Repository path → new UTF-8 content; other files keep what the branch has. */
  files: Record<string, string>;
  message: string;
  /** Used as both author and committer. */
  author: Identity;
}

export interface MergeBranchesOptions extends BareCallOptions {
  base: string;
  head: string;
  message: string;
  /** Used as both author and committer of the merge commit. */
  committer: Identity;
  /** One commit with the merged tree and only the base as parent, as GitHub's "squash and merge". */
  squash?: boolean;
}

export type MergeResult =
  | { merged: true; sha: string }
  | { merged: false; reason: "conflict" | "missing-branch" | "up-to-date"; detail: string };

/** One commit as a push webhook lists it. */
export interface CommitSummary {
  sha: string;
  tree: string;
  parents: string[];
  message: string;
  /** Author date, ISO 8601 with the author's offset. */
  timestamp: string;
  author: Identity;
  committer: Identity;
  /** Paths changed against the first parent (all, for a first commit); a rename is removed + added. */
  added: string[];
  removed: string[];
  modified: string[];
}

/** GitHub's push webhook lists at most this many commits. */
export const MAX_PUSH_COMMITS = 2048;
const LOG_FIELDS = ["%H", "%T", "%P", "%an", "%ae", "%cn", "%ce", "%aI", "%B"];

export interface DiffSummary {
  additions: number;
  deletions: number;
  changedFiles: number;
}

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

/**
 * Commits `files` on top of `refs/heads/<branch>` without a worktree, through a temporary index, and
 * returns the new commit's sha. A missing branch starts from the default branch's tip, or as the
 * repository's first commit when there is none.
 * Throws a GitError if the branch moved meanwhile; nothing is changed then.
 */
export async function commitFiles(bare: string, opts: CommitFilesOptions): Promise<string> {
  assertBranch(opts.branch, "commit-tree");
  assertIdentity(opts.author, "commit-tree");
  const entries = Object.entries(opts.files);
  for (const [file] of entries) assertRepoPath(file, "update-index");
  const call = callOptions(opts);
  const ref = `refs/heads/${opts.branch}`;
  const current = await resolveRef(bare, ref, call);
  // A new branch starts from the default branch (what HEAD names), so it can be merged back later.
  const parent = current ?? (await resolveRef(bare, "HEAD", call));

  const scratch = await mkdtemp(path.join(os.tmpdir(), "drover-index-"));
  try {
    const env = { GIT_INDEX_FILE: path.join(scratch, "index") };
    if (parent !== null) await git(bare, ["read-tree", "--end-of-options", parent], { ...call, env });
    let indexInfo = "";
    for (const [file, content] of entries) {
      const blob = await git(bare, ["hash-object", "-w", "--no-filters", "--stdin"], {
        ...call,
        input: content,
      });
      indexInfo += `100644 ${blob}\t${file}\0`;
    }
    // `--replace`: a new `a/b` replaces a file `a`, and a new `a` replaces a directory `a/`.
    await git(bare, ["update-index", "--add", "--replace", "-z", "--index-info"], {
      ...call,
      env,
      input: indexInfo,
    });
    const tree = await git(bare, ["write-tree"], { ...call, env });
    const sha = await git(
      bare,
      ["commit-tree", ...(parent === null ? [] : ["-p", parent]), "-F", "-", tree],
      {
        ...call,
        env: identityEnv(opts.author),
        input: messageText(opts.message),
      },
    );
    await swapRef(bare, ref, sha, current, call);
    return sha;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Merges `head` into `base` with a merge commit (two parents, even when `base` could fast-forward, as
 * GitHub's merge button does), or with `squash` one commit whose only parent is `base`. Conflicts,
 * missing branches and a head already in base are outcomes, not errors; the base ref moves only on
 * success. Throws a GitError if `base` moved meanwhile.
 */
export async function mergeBranches(bare: string, opts: MergeBranchesOptions): Promise<MergeResult> {
  assertIdentity(opts.committer, "merge-tree");
  const call = callOptions(opts);
  const plan = await planMerge(bare, opts.base, opts.head, call);
  if (plan.outcome !== "clean") return { merged: false, reason: plan.outcome, detail: plan.detail };
  const parents = opts.squash ? ["-p", plan.baseSha] : ["-p", plan.baseSha, "-p", plan.headSha];
  const sha = await git(bare, ["commit-tree", ...parents, "-F", "-", plan.tree], {
    ...call,
    env: identityEnv(opts.committer),
    input: messageText(opts.message),
  });
  await swapRef(bare, `refs/heads/${opts.base}`, sha, plan.baseSha, call);
  return { merged: true, sha };
}

/** Whether `head` merges into `base` without conflicts (true when it is already in base). Writes no ref. */
export async function isMergeable(
  bare: string,
  base: string,
  head: string,
  opts: BareCallOptions = {},
): Promise<boolean> {
  const plan = await planMerge(bare, base, head, opts);
  return plan.outcome === "clean" || plan.outcome === "up-to-date";
}

/**
 * The commits a ref update from `before` to `after` brings, with the paths each changes: `before..after`,
 * parents before children, or for a new ref (`before` null) just `after` itself. At most the newest
 * MAX_PUSH_COMMITS.
 */
export async function commitLog(
  bare: string,
  before: string | null,
  after: string,
  opts: BareCallOptions = {},
): Promise<CommitSummary[]> {
  for (const rev of before === null ? [after] : [before, after]) assertRevision(rev, "log");
  const maxCount = before === null ? 1 : MAX_PUSH_COMMITS;
  const { stdout } = await gitRaw(
    bare,
    [
      "log",
      "-z",
      "--reverse",
      "--topo-order",
      "--no-renames",
      "--diff-merges=first-parent",
      "--name-status",
      `--max-count=${maxCount}`,
      `--format=%x01${LOG_FIELDS.join("%x00")}`,
      "--end-of-options",
      before === null ? after : `${before}..${after}`,
      "--",
    ],
    opts,
  );
  return parseLog(stdout.toString("utf8"));
}

/**
 * `log -z --name-status` output: per commit "\x01" and the fields, NUL-terminated (a message holds no NUL),
 * then, when it changes paths, "\n" and NUL-terminated status and path pairs.
 */
function parseLog(out: string): CommitSummary[] {
  const tokens = out.split("\0");
  const commits: CommitSummary[] = [];
  let i = 0;
  while (i < tokens.length && tokens[i]?.startsWith("\x01")) {
    const fields = tokens.slice(i, i + LOG_FIELDS.length);
    i += LOG_FIELDS.length;
    const [
      sha = "",
      tree = "",
      parents = "",
      an = "",
      ae = "",
      cn = "",
      ce = "",
      timestamp = "",
      message = "",
    ] = fields;
    const commit: CommitSummary = {
      sha: sha.slice(1),
      tree,
      parents: parents === "" ? [] : parents.split(" "),
      message: message.replace(/\n+$/, ""),
      timestamp,
      author: { name: an, email: ae },
      committer: { name: cn, email: ce },
      added: [],
      removed: [],
      modified: [],
    };
    // Status and path pairs follow, up to the next commit or the final empty token.
    for (;;) {
      const status = (tokens[i] ?? "").trim();
      if (status === "" || status.startsWith("\x01")) break;
      const file = tokens[i + 1] ?? "";
      if (status === "A") commit.added.push(file);
      else if (status === "D") commit.removed.push(file);
      else commit.modified.push(file);
      i += 2;
    }
    commits.push(commit);
  }
  return commits;
}

/**
 * What a pull request from `headRef` into `baseRef` changes: `git diff --numstat base...head`, from the
 * merge base. Binary files count as changed with no added or deleted lines; a rename is one changed file.
 */
export async function changedFiles(
  bare: string,
  baseRef: string,
  headRef: string,
  opts: BareCallOptions = {},
): Promise<DiffSummary> {
  const base = await resolveRef(bare, baseRef, opts);
  const head = await resolveRef(bare, headRef, opts);
  if (base === null || head === null) {
    throw new GitError(`unknown ref '${base === null ? baseRef : headRef}'`, { subcommand: "diff" });
  }
  const out = await git(bare, ["diff", "--numstat", "--end-of-options", `${base}...${head}`, "--"], opts);
  const summary: DiffSummary = { additions: 0, deletions: 0, changedFiles: 0 };
  for (const line of out.split("\n")) {
    if (line === "") continue;
    const [added, deleted] = line.split("\t");
    summary.changedFiles++;
    // Binary files show "-\t-".
    if (added !== "-") summary.additions += Number(added);
    if (deleted !== "-") summary.deletions += Number(deleted);
  }
  return summary;
}

type MergePlan =
  | { outcome: "clean"; baseSha: string; headSha: string; tree: string }
  | { outcome: "conflict" | "missing-branch" | "up-to-date"; detail: string };

async function planMerge(
  bare: string,
  base: string,
  head: string,
  opts: BareCallOptions,
): Promise<MergePlan> {
  assertBranch(base, "merge-tree");
  assertBranch(head, "merge-tree");
  const baseSha = await resolveRef(bare, `refs/heads/${base}`, opts);
  const headSha = await resolveRef(bare, `refs/heads/${head}`, opts);
  if (baseSha === null || headSha === null) {
    return { outcome: "missing-branch", detail: `branch '${baseSha === null ? base : head}' does not exist` };
  }
  const inBase = await gitRaw(bare, ["merge-base", "--is-ancestor", headSha, baseSha], {
    ...opts,
    accept: [0, 1],
  });
  if (inBase.exitCode === 0) {
    return { outcome: "up-to-date", detail: `'${head}' is already contained in '${base}'` };
  }
  // Exit 0: clean, stdout is the tree. Exit 1: conflicts, stdout is the tree with conflict markers, then
  // the conflicted paths (`--name-only`), each once per stage.
  const result = await gitRaw(
    bare,
    ["merge-tree", "--write-tree", "--name-only", "--no-messages", "--end-of-options", baseSha, headSha],
    { ...opts, accept: [0, 1, 128] },
  );
  if (result.exitCode === 128) {
    if (/unrelated histories/.test(result.stderr)) {
      return { outcome: "conflict", detail: `'${head}' and '${base}' have unrelated histories` };
    }
    throw gitFailure("merge-tree", "failed with exit code 128", result.stderr, { exitCode: 128 });
  }
  const [tree = "", ...paths] = result.stdout.toString("utf8").split("\n");
  if (result.exitCode === 0) return { outcome: "clean", baseSha, headSha, tree };
  const conflicted = [...new Set(paths.filter((p) => p !== ""))];
  return { outcome: "conflict", detail: `merge conflict in ${conflicted.join(", ") || "the tree"}` };
}

/** `update-ref <ref> <new> <old>`; with `old` null the ref must not exist yet. */
async function swapRef(
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

/** Only the signal: option objects of the exported functions carry more than git calls take. */
function callOptions(opts: BareCallOptions): BareCallOptions {
  return opts.signal ? { signal: opts.signal } : {};
}

interface GitCallOptions extends BareCallOptions {
  env?: Record<string, string>;
  input?: string;
}

/** runGit pinned to `bare` by GIT_DIR, so a path that is not a repository can never reach a parent's. */
function git(bare: string, args: readonly string[], opts: GitCallOptions): Promise<string> {
  return runGit([...SAFE_FLAGS, ...args], {
    cwd: bare,
    env: { GIT_DIR: path.resolve(bare), ...opts.env },
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.input === undefined ? {} : { input: opts.input }),
  });
}

interface RawResult {
  exitCode: number;
  stdout: Buffer;
  stderr: string;
}

/**
 * For the calls runGit cannot make: output that is binary (`cat-file`) and exit codes that are
 * answers (`merge-tree`, `merge-base --is-ancestor`). Same controlled environment as runGit; none of
 * these starts helpers, so no process group is needed.
 */
async function gitRaw(
  bare: string,
  args: readonly string[],
  opts: GitCallOptions & { accept?: readonly number[] },
): Promise<RawResult> {
  const subcommand = args[0] ?? "git";
  const env: Record<string, string> = {
    GIT_TERMINAL_PROMPT: "0",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_DIR: path.resolve(bare),
  };
  for (const key of ["PATH", "HOME", "LANG"] as const) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  let result;
  try {
    result = await execa("git", [...SAFE_FLAGS, ...args], {
      cwd: bare,
      env,
      extendEnv: false,
      encoding: "buffer",
      reject: false,
      timeout: DEFAULT_GIT_TIMEOUT_MS,
      forceKillAfterDelay: 5_000,
      ...(opts.signal ? { cancelSignal: opts.signal } : {}),
      ...(opts.input === undefined ? { stdin: "ignore" as const } : { input: opts.input }),
    });
  } catch (error) {
    throw new GitError(`git ${subcommand} failed: ${String(error)}`, { subcommand, cause: error });
  }
  const stderr = Buffer.from(result.stderr).toString("utf8");
  const details = { exitCode: result.exitCode, timedOut: result.timedOut, isCanceled: result.isCanceled };
  if (result.timedOut) {
    throw gitFailure(subcommand, `timed out after ${DEFAULT_GIT_TIMEOUT_MS} ms`, stderr, details);
  }
  if (result.isCanceled) throw gitFailure(subcommand, "was cancelled", stderr, details);
  if (result.exitCode === undefined) {
    throw gitFailure(subcommand, `failed: ${result.originalMessage || result.shortMessage}`, stderr, details);
  }
  if (!(opts.accept ?? [0]).includes(result.exitCode)) {
    throw gitFailure(subcommand, `failed with exit code ${result.exitCode}`, stderr, details);
  }
  const { buffer, byteOffset, byteLength } = result.stdout;
  return { exitCode: result.exitCode, stdout: Buffer.from(buffer, byteOffset, byteLength), stderr };
}

function gitFailure(
  subcommand: string,
  reason: string,
  stderr: string,
  details: Partial<Pick<GitErrorDetails, "exitCode" | "timedOut" | "isCanceled">> = {},
): GitError {
  const stderrTail = stderr.slice(-STDERR_TAIL_CHARS).trim();
  return new GitError(`git ${subcommand} ${reason}${stderrTail ? `: ${stderrTail}` : ""}`, {
    subcommand,
    stderrTail,
    ...details,
  });
}

/** A full sha or a ref name (`main`, `refs/heads/main`), never an option or revision syntax. */
function assertRevision(rev: string, subcommand: string): void {
  if (!SHA.test(rev) && !isSafeRefName(rev)) throw new GitError(`invalid revision '${rev}'`, { subcommand });
}

function assertBranch(branch: string, subcommand: string): void {
  if (!isSafeRefName(branch)) throw new GitError(`invalid branch name '${branch}'`, { subcommand });
}

/** A path inside the repository: relative, `/`-separated, no `.`, `..` or `.git` segment, no line breaks. */
function assertRepoPath(file: string, subcommand: string): void {
  const segments = file.split("/");
  const bad =
    file === "" ||
    file.startsWith("-") ||
    // eslint-disable-next-line no-control-regex
    /[\x00-\x1f\x7f]/.test(file) ||
    segments.some((s) => s === "" || s === "." || s === ".." || s.toLowerCase() === ".git");
  if (bad) throw new GitError(`invalid file path '${file}'`, { subcommand });
}

function assertIdentity(who: Identity, subcommand: string): void {
  const bad = /[<>\r\n\0]/;
  if (who.name.trim() === "" || who.email.trim() === "" || bad.test(who.name) || bad.test(who.email)) {
    throw new GitError("identity needs a name and email without '<', '>' or line breaks", { subcommand });
  }
}

function identityEnv(who: Identity): Record<string, string> {
  return {
    GIT_AUTHOR_NAME: who.name,
    GIT_AUTHOR_EMAIL: who.email,
    GIT_COMMITTER_NAME: who.name,
    GIT_COMMITTER_EMAIL: who.email,
  };
}

function messageText(message: string): string {
  return message.endsWith("\n") ? message : `${message}\n`;
}
