import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {
  assertBranch,
  assertIdentity,
  assertRepoPath,
  callOptions,
  git,
  identityEnv,
  messageText,
  type BareCallOptions,
  type Identity,
} from "./git-call.ts";
import { resolveRef, swapRef } from "./refs.ts";

export interface CommitFilesOptions extends BareCallOptions {
  branch: string;
  /** Repository path → new UTF-8 content; other files keep what the branch has. */
  files: Record<string, string>;
  message: string;
  /** Used as both author and committer. */
  author: Identity;
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
