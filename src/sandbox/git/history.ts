import { GitError } from "../../git/run-git.ts";
import {
  assertRepoPath,
  assertRevision,
  git,
  gitRaw,
  type BareCallOptions,
  type Identity,
} from "./git-call.ts";
import { resolveRef } from "./refs.ts";

// What commits bring: the commits of a push, as its webhook lists them, and a pull request's diff stat.

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

/**
 * The unified diff of one file between the merge base of `base` and `head`, and `head` (`base...head`, as
 * a pull request shows it), or "" when the file is unchanged. Both are full shas.
 */
export async function fileDiff(
  bare: string,
  base: string,
  head: string,
  file: string,
  opts: BareCallOptions = {},
): Promise<string> {
  for (const rev of [base, head]) assertRevision(rev, "diff");
  assertRepoPath(file, "diff");
  return git(
    bare,
    [
      "diff",
      "--no-color",
      "--no-ext-diff",
      "--unified=3",
      "--end-of-options",
      `${base}...${head}`,
      "--",
      file,
    ],
    opts,
  );
}
