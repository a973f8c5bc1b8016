import type { Octokit, RepoRef } from "./types.ts";

export type PullRequestRef = {
  number: number;
  url: string;
  created: boolean;
  /** GitHub's global id, which its GraphQL API names the pull request by (auto-merge). */
  nodeId: string;
  /** GitHub's auto-merge is already on for it. */
  autoMerge: boolean;
};

/**
 * One pull request per task branch: finds the open one for `head` and updates it, or opens it. GitHub
 * refuses a second PR for the same head and base, which backs up the step record.
 */
export async function openOrUpdatePullRequest(
  octokit: Octokit,
  repo: RepoRef,
  pr: { head: string; base: string; title: string; body: string; draft: boolean },
): Promise<PullRequestRef> {
  const { data: open } = await octokit.rest.pulls.list({
    ...repo,
    head: `${repo.owner}:${pr.head}`,
    state: "open",
    per_page: 1,
  });
  const existing = open[0];
  if (existing) {
    await octokit.rest.pulls.update({
      ...repo,
      pull_number: existing.number,
      title: pr.title,
      body: pr.body,
    });
    return refOf(existing, false);
  }
  const { data } = await octokit.rest.pulls.create({
    ...repo,
    head: pr.head,
    base: pr.base,
    title: pr.title,
    body: pr.body,
    draft: pr.draft,
  });
  return refOf(data, true);
}

/** The numbers of the open pull requests into `base` (a stacked pull request's base is a task branch). */
export async function openPullRequestsInto(octokit: Octokit, repo: RepoRef, base: string): Promise<number[]> {
  const pulls = await octokit.paginate(octokit.rest.pulls.list, {
    ...repo,
    base,
    state: "open",
    per_page: 100,
  });
  return pulls.map((pull) => pull.number);
}

/**
 * Points pull request `number` at `base` (a stacked pull request whose blocker merged goes into the branch
 * that blocker merged into). GitHub does it by itself when the merged branch is deleted. `refused` (422):
 * GitHub would not (nothing of the head is new to `base`, or another pull request has that head and base);
 * the pull request stays as it was, for a person.
 */
export async function retargetPullRequest(
  octokit: Octokit,
  repo: RepoRef,
  number: number,
  base: string,
): Promise<{ kind: "retargeted" } | { kind: "refused"; reason: string }> {
  try {
    await octokit.rest.pulls.update({ ...repo, pull_number: number, base });
    return { kind: "retargeted" };
  } catch (error) {
    if ((error as { status?: number }).status === 422)
      return { kind: "refused", reason: (error as Error).message };
    throw error;
  }
}

/**
 * What a stacked pull request's body ends with (drover.yml `stack: true`): what it is built on, and that it
 * goes into the base branch once that merges. Empty when not stacked.
 */
export function stackedNote(onto: { issueNumber: number; branch: string } | null | undefined): string {
  if (!onto) return "";
  return `\n\nStacked on #${onto.issueNumber} (branch \`${onto.branch}\`): this pull request targets that branch, and goes into the base branch when #${onto.issueNumber}'s pull request merges.\n`;
}

function refOf(
  pr: { number: number; html_url: string; node_id: string; auto_merge: unknown },
  created: boolean,
): PullRequestRef {
  return {
    number: pr.number,
    url: pr.html_url,
    created,
    nodeId: pr.node_id,
    autoMerge: pr.auto_merge != null,
  };
}

export type ReviewComment = {
  id: number;
  author: string;
  authorId: number | null;
  body: string;
  path: string;
  /** The line of the file it is on; null when GitHub no longer places it on one (an outdated comment). */
  line: number | null;
  diffHunk: string;
  url: string;
  createdAt: Date;
};

/** The inline comments of one review, oldest first. */
export async function reviewComments(
  octokit: Octokit,
  repo: RepoRef,
  prNumber: number,
  reviewId: number,
): Promise<ReviewComment[]> {
  const comments = await octokit.paginate(octokit.rest.pulls.listCommentsForReview, {
    ...repo,
    pull_number: prNumber,
    review_id: reviewId,
    per_page: 100,
  });
  return comments.map((comment) => ({
    id: comment.id,
    author: comment.user?.login ?? "ghost",
    authorId: comment.user?.id ?? null,
    body: comment.body,
    path: comment.path,
    line: comment.line ?? comment.original_line ?? null,
    diffHunk: comment.diff_hunk,
    url: comment.html_url,
    createdAt: new Date(comment.created_at),
  }));
}
