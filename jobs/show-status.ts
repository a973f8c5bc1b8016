import type { Db } from "../src/db/client.ts";
import { hintsOf } from "../src/db/hints.ts";
import { updateTask, type Task } from "../src/db/tasks.ts";
import { STATUS_HINTS, type StatusView } from "../src/github/render.ts";
import { publishStatus } from "../src/github/issue-status.ts";
import type { Octokit, RepoRef } from "../src/github/types.ts";

/**
 * Shows `view` on the task's issue (status comment and labels) with the task's latest hints, and
 * remembers the status comment's id, so every later writer edits that one comment.
 */
export async function showStatus(
  db: Db,
  octokit: Octokit,
  repo: RepoRef,
  task: Pick<Task, "id" | "repoId" | "issueNumber" | "statusCommentId">,
  view: StatusView,
): Promise<void> {
  const hints = await hintsOf(db, task.id);
  const shown: StatusView = {
    ...view,
    hints: hints.slice(-STATUS_HINTS).map(({ author, kind, body, givenLiveAt }) => ({
      author,
      kind,
      body,
      givenLive: givenLiveAt !== null,
    })),
    hintCount: hints.length,
  };
  const commentId = await publishStatus(db, octokit, repo, task, shown);
  if (commentId !== task.statusCommentId) await updateTask(db, task.id, { statusCommentId: commentId });
}
