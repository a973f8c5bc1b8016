import {
  assertBranch,
  assertIdentity,
  assertRevision,
  callOptions,
  git,
  gitFailure,
  gitRaw,
  identityEnv,
  messageText,
  type BareCallOptions,
  type Identity,
} from "./git-call.ts";
import { resolveRef, swapRef } from "./refs.ts";

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

/** Whether commit `ancestor` is `descendant` or one of its ancestors (both full shas). */
export async function isAncestor(
  bare: string,
  ancestor: string,
  descendant: string,
  opts: BareCallOptions = {},
): Promise<boolean> {
  for (const rev of [ancestor, descendant]) assertRevision(rev, "merge-base");
  const { exitCode } = await gitRaw(bare, ["merge-base", "--is-ancestor", ancestor, descendant], {
    ...opts,
    accept: [0, 1],
  });
  return exitCode === 0;
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
