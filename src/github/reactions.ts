import type { Octokit, RepoRef } from "./types.ts";

/** The comment a reaction goes on: an issue or pull request comment, or an inline review comment. */
export type ReactionTarget = { kind: "issue-comment" | "review-comment"; id: number };
export type Reaction = "eyes" | "rocket";

/**
 * Reacts to a comment. GitHub answers a reaction the app already made with the one it has (200), so a job
 * run again reacts once.
 */
export async function react(
  octokit: Octokit,
  repo: RepoRef,
  target: ReactionTarget,
  content: Reaction,
): Promise<void> {
  if (target.kind === "issue-comment")
    await octokit.rest.reactions.createForIssueComment({ ...repo, comment_id: target.id, content });
  else
    await octokit.rest.reactions.createForPullRequestReviewComment({
      ...repo,
      comment_id: target.id,
      content,
    });
}
