import { ALL_STATE_LABELS, STATE_LABELS } from "../graph/transitions.ts";
import { upsertStatusComment } from "./comments.ts";
import { setStateLabel } from "./labels.ts";
import { renderStatus, type StatusView } from "./render.ts";
import type { Octokit, RepoRef } from "./types.ts";

/**
 * Shows a task's state on its issue: the one status comment (edited in place) and the state label.
 * Returns the status comment's id for the caller to remember.
 */
export async function publishStatus(
  octokit: Octokit,
  repo: RepoRef,
  issueNumber: number,
  view: StatusView,
  knownCommentId: number | null,
): Promise<number> {
  const commentId = await upsertStatusComment(octokit, repo, issueNumber, renderStatus(view), knownCommentId);
  await setStateLabel(octokit, repo, issueNumber, STATE_LABELS[view.state] ?? null, ALL_STATE_LABELS);
  return commentId;
}
