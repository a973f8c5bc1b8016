import type { Db } from "../src/db/client.ts";
import { updateTask, type Task } from "../src/db/tasks.ts";
import type { StatusView } from "../src/github/render.ts";
import { publishStatus } from "../src/github/issue-status.ts";
import type { Octokit, RepoRef } from "../src/github/types.ts";

/**
 * Shows `view` on the task's issue (status comment and labels) and remembers the status comment's id, so
 * every later writer edits that one comment.
 */
export async function showStatus(
  db: Db,
  octokit: Octokit,
  repo: RepoRef,
  task: Pick<Task, "id" | "issueNumber" | "statusCommentId">,
  view: StatusView,
): Promise<void> {
  const commentId = await publishStatus(octokit, repo, task.issueNumber, view, task.statusCommentId);
  if (commentId !== task.statusCommentId) await updateTask(db, task.id, { statusCommentId: commentId });
}
