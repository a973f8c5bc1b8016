import { DroverConfig } from "../../src/config/schema.ts";
import { claimAttempt, type Lease } from "../../src/db/attempts.ts";
import type { Db } from "../../src/db/client.ts";
import { queueTasks, triggerTask } from "../../src/db/tasks.ts";
import { AUTHOR, MAINTAINER, OCTO_REPO } from "./payloads.ts";

/** Tasks in PostgreSQL as the jobs leave them, built through the same queries the jobs use. */

export type TaskTrigger = Parameters<typeof triggerTask>[1];

/**
 * triggerTask's input for issue `issue` of the test repository (OCTO_REPO), opened by AUTHOR and labelled
 * by MAINTAINER, with the default config; `fields` override any of it.
 */
export function taskTrigger(issue: number, fields: Partial<TaskTrigger> = {}): TaskTrigger {
  return {
    repoId: OCTO_REPO.id,
    issueNumber: issue,
    title: `Task ${issue}`,
    createdBy: AUTHOR.login,
    createdById: AUTHOR.id,
    triggeredBy: MAINTAINER.login,
    branch: `drover/${issue}-task-${issue}`,
    config: DroverConfig.parse({}),
    ...fields,
  };
}

/**
 * A task for `issue` whose first attempt `workerId` has just claimed, as run-task leaves it before the
 * agent runs. The repository must be recorded already.
 */
export async function claimedTask(
  db: Db,
  issue: number,
  workerId: string,
  fields: Partial<TaskTrigger> = {},
): Promise<{ taskId: number; lease: Lease }> {
  const trigger = await triggerTask(db, taskTrigger(issue, fields));
  if (trigger.kind === "applied-before") throw new Error("no delivery was given");
  const [queued] = await queueTasks(db, [trigger.task.id]);
  const claim = queued && (await claimAttempt(db, queued.attemptId, workerId));
  if (claim?.kind !== "claimed") throw new Error("attempt was not claimed");
  return { taskId: trigger.task.id, lease: claim.lease };
}
