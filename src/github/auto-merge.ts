import { findCheckRun } from "./checks.ts";
import type { Octokit, RepoRef } from "./types.ts";

/** drover.yml `auto_merge`: GitHub's auto-merge on a Drover pull request, or Drover's own merge. */

export type MergeMethod = "MERGE" | "SQUASH";

export type AutoMergeResult = { kind: "enabled" } | { kind: "refused"; reason: string };

const ENABLE = `mutation($pullRequestId: ID!, $mergeMethod: PullRequestMergeMethod!) {
  enablePullRequestAutoMerge(input: { pullRequestId: $pullRequestId, mergeMethod: $mergeMethod }) {
    pullRequest { number autoMergeRequest { enabledAt } }
  }
}`;

type GraphqlError = { type?: string; message?: string };

/**
 * Turns on GitHub's auto-merge for the pull request `nodeId`: GitHub merges it once branch protection's
 * required checks and reviews pass. GitHub refuses (an UNPROCESSABLE error) where the repository does not
 * allow auto-merge, and where the pull request could be merged now ("clean status": nothing to wait for);
 * that refusal is returned, for Drover to merge itself. Anything else GitHub answers is thrown.
 */
export async function enableAutoMerge(
  octokit: Octokit,
  nodeId: string,
  mergeMethod: MergeMethod,
): Promise<AutoMergeResult> {
  try {
    await octokit.graphql(ENABLE, { pullRequestId: nodeId, mergeMethod });
    return { kind: "enabled" };
  } catch (error) {
    const errors = (error as { errors?: GraphqlError[] }).errors;
    const refusal = errors?.find((e) => e.type === "UNPROCESSABLE");
    if (refusal) return { kind: "refused", reason: refusal.message ?? "auto-merge is not available" };
    throw error;
  }
}

export type MergeResult =
  | { kind: "merged"; sha: string }
  /** Drover's check run on the head is missing, still running, or did not conclude success. */
  | { kind: "check-not-passed"; conclusion: string | null }
  /** A reviewer's latest review requests changes. */
  | { kind: "changes-requested"; by: string[] }
  /** GitHub would not merge it (not mergeable, the head moved, branch protection). */
  | { kind: "refused"; reason: string };

/**
 * Drover merges the pull request itself, where GitHub's auto-merge is not available: only when its own
 * check run on `headSha` concluded success and no reviewer's latest review requests changes, and only
 * while the head is still `headSha` (GitHub refuses the merge if someone pushed meanwhile).
 */
export async function mergeIfReady(
  octokit: Octokit,
  repo: RepoRef,
  pr: { number: number; headSha: string; mergeMethod: MergeMethod },
): Promise<MergeResult> {
  const own = await findCheckRun(octokit, repo, pr.headSha);
  if (own?.status !== "completed" || own.conclusion !== "success")
    return { kind: "check-not-passed", conclusion: own?.conclusion ?? null };

  const requesting = await changesRequestedBy(octokit, repo, pr.number);
  if (requesting.length > 0) return { kind: "changes-requested", by: requesting };

  try {
    const { data } = await octokit.rest.pulls.merge({
      ...repo,
      pull_number: pr.number,
      sha: pr.headSha,
      merge_method: pr.mergeMethod === "SQUASH" ? "squash" : "merge",
    });
    return data.merged ? { kind: "merged", sha: data.sha } : { kind: "refused", reason: data.message };
  } catch (error) {
    const status = (error as { status?: number }).status;
    if (status === 405 || status === 409 || status === 422)
      return { kind: "refused", reason: (error as Error).message };
    throw error;
  }
}

/** Reviewers whose latest review (approving, requesting changes or dismissed) requests changes. */
async function changesRequestedBy(octokit: Octokit, repo: RepoRef, prNumber: number): Promise<string[]> {
  const reviews = await octokit.paginate(octokit.rest.pulls.listReviews, {
    ...repo,
    pull_number: prNumber,
    per_page: 100,
  });
  const latest = new Map<string, string>();
  // GitHub lists reviews oldest first; a comment-only review leaves a reviewer's verdict as it was.
  for (const review of reviews) {
    const who = review.user?.login;
    if (!who || review.state === "COMMENTED" || review.state === "PENDING") continue;
    latest.set(who, review.state);
  }
  return [...latest].filter(([, state]) => state === "CHANGES_REQUESTED").map(([who]) => who);
}
