import { pendingAttempts } from "../src/db/attempts.ts";
import { unprocessedDeliveries } from "../src/db/deliveries.ts";
import { repositoriesWithReadyTasks } from "../src/db/tasks.ts";
import { scheduleRepository } from "../src/scheduler/schedule.ts";
import type { JobDeps } from "./deps.ts";

/**
 * PostgreSQL → queue, run at worker start: work that PostgreSQL says is due but the queue may not hold
 * (Redis lost it, or was down when a webhook came) is queued again. Job ids make this a no-op for work
 * the queue still has. The full reconciler (GitHub ⇄ PostgreSQL, expired leases) builds on this.
 */
export async function requeuePending(
  deps: Pick<JobDeps, "db" | "enqueue" | "log">,
): Promise<{ deliveries: number; attempts: number }> {
  const deliveries = await unprocessedDeliveries(deps.db, new Date(Date.now() - 5_000));
  for (const delivery of deliveries) {
    const job = delivery.event === "issues" && delivery.action === "labeled" ? "start-task" : "close-task";
    await deps.enqueue(job, { deliveryId: delivery.id });
  }
  const attempts = await pendingAttempts(deps.db);
  for (const attempt of attempts) await deps.enqueue("run-task", { attemptId: attempt.id });
  for (const { repoId, maxWorkers } of await repositoriesWithReadyTasks(deps.db)) {
    await scheduleRepository(deps, repoId, maxWorkers);
  }
  deps.log.info({ deliveries: deliveries.length, attempts: attempts.length }, "pending work requeued");
  return { deliveries: deliveries.length, attempts: attempts.length };
}
