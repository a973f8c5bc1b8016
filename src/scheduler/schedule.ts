import type { Db } from "../db/client.ts";
import { queueReadyTasks, type QueuedAttempt } from "../db/tasks.ts";
import type { Enqueue } from "../queue/catalog.ts";

/**
 * Gives a repository's ready tasks to the queue, up to its `max_workers` running at once. The attempt is
 * committed to PostgreSQL before the job is queued; a job lost between the two is queued again from the
 * attempt row at worker start (same job id, so never twice).
 */
export async function scheduleRepository(
  deps: { db: Db; enqueue: Enqueue },
  repoId: number,
  maxWorkers: number,
): Promise<QueuedAttempt[]> {
  const queued = await queueReadyTasks(deps.db, repoId, maxWorkers);
  for (const attempt of queued) await deps.enqueue("run-task", { attemptId: attempt.attemptId });
  return queued;
}
