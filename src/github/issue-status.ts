import { ALL_STATE_LABELS, CYCLE_LABEL, STATE_LABELS } from "../graph/transitions.ts";
import { upsertStatusComment } from "./comments.ts";
import { setManagedLabels } from "./labels.ts";
import { renderStatus, type StatusView } from "./render.ts";
import type { Octokit, RepoRef } from "./types.ts";

const MANAGED = [...ALL_STATE_LABELS, CYCLE_LABEL];

/**
 * Shows a task's state on its issue: the one status comment (edited in place), the state label, and
 * `drover:cycle` while the issue is on a dependency cycle. Returns the status comment's id to remember.
 */
export async function publishStatus(
  octokit: Octokit,
  repo: RepoRef,
  issueNumber: number,
  view: StatusView,
  knownCommentId: number | null,
): Promise<number> {
  const commentId = await upsertStatusComment(octokit, repo, issueNumber, renderStatus(view), knownCommentId);
  const wanted = [STATE_LABELS[view.state], view.cycle ? CYCLE_LABEL : undefined].filter(
    (label): label is string => label !== undefined,
  );
  await setManagedLabels(octokit, repo, issueNumber, wanted, MANAGED);
  return commentId;
}
