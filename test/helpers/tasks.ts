import { eq } from "drizzle-orm";
import { parse } from "yaml";
import { DroverConfig } from "../../src/config/schema.ts";
import type { AttemptStart } from "../../src/db/attempt-start.ts";
import { claimAttempt, type Lease } from "../../src/db/attempts.ts";
import type { Db } from "../../src/db/client.ts";
import { upsertIssue } from "../../src/db/graph-rows.ts";
import { getRepository, upsertRepository } from "../../src/db/repositories.ts";
import { lastWritten, tasks } from "../../src/db/schema.ts";
import { queueTasks, triggerTask } from "../../src/db/tasks.ts";
import { issueKey } from "../../src/graph/model.ts";
import { AUTHOR, MAINTAINER, OCTO_REPO, type TestRepo } from "./payloads.ts";

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
 * Records `commentId` as the status comment Drover made on issue `issue` of `repoFullName`, where Drover
 * keeps it (last_written; the labels it set there not known, as for an issue shown by an older version):
 * the task's next status is an edit of that comment.
 */
export async function rememberStatusComment(
  db: Db,
  repoFullName: string,
  issue: number,
  commentId: number,
): Promise<void> {
  await db
    .insert(lastWritten)
    .values({ key: issueKey(repoFullName, issue), statusCommentId: commentId })
    .onConflictDoUpdate({ target: lastWritten.key, set: { statusCommentId: commentId, statusHash: null } });
}

/**
 * triggerTask for a task whose issue already shows status comment `statusCommentId` (when given): the
 * repository must be recorded already.
 */
export async function triggerShownTask(
  db: Db,
  input: TaskTrigger & { statusCommentId?: number },
): Promise<Awaited<ReturnType<typeof triggerTask>>> {
  const { statusCommentId, ...trigger } = input;
  if (statusCommentId !== undefined) {
    const repository = await getRepository(db, trigger.repoId);
    if (!repository) throw new Error(`repository ${trigger.repoId} is not recorded`);
    await rememberStatusComment(db, repository.fullName, trigger.issueNumber, statusCommentId);
  }
  return triggerTask(db, trigger);
}

/**
 * A task for `issue` whose first attempt `workerId` has just claimed, as run-task leaves it before the
 * agent runs. The repository must be recorded already.
 */
export async function claimedTask(
  db: Db,
  issue: number,
  workerId: string,
  fields: Partial<TaskTrigger> & { statusCommentId?: number } = {},
): Promise<{ taskId: number; lease: Lease }> {
  const trigger = await triggerShownTask(db, { ...taskTrigger(issue), ...fields });
  if (trigger.kind === "applied-before") throw new Error("no delivery was given");
  const [queued] = await queueTasks(db, [trigger.task.id]);
  const claim = queued && (await claimAttempt(db, queued.attemptId, workerId));
  if (claim?.kind !== "claimed") throw new Error("attempt was not claimed");
  return { taskId: trigger.task.id, lease: claim.lease };
}

/**
 * A task of `repo` labelled by the maintainer with drover.yml `yaml`, its issue and links read, its first
 * attempt queued (as the scheduler leaves it, starting as `nextStart` says), no job yet.
 */
export async function queuedTask(
  db: Db,
  repo: TestRepo,
  issue: number,
  yaml: string,
  nextStart?: AttemptStart,
): Promise<{ taskId: number; attemptId: number }> {
  await upsertRepository(db, repo);
  // Its issue, its links read: the scheduler may start it again once it is ready.
  await upsertIssue(db, {
    key: `${repo.fullName.toLowerCase()}#${issue}`,
    installationId: repo.installationId,
    repoFullName: repo.fullName,
    number: issue,
    title: `Task ${issue}`,
    linksSyncedAt: new Date(),
  });
  const trigger = await triggerShownTask(db, {
    ...taskTrigger(issue, { createdBy: MAINTAINER.login, createdById: MAINTAINER.id }),
    repoId: repo.id,
    config: DroverConfig.parse(parse(yaml)),
    statusCommentId: 9000 + issue,
  });
  if (trigger.kind !== "created") throw new Error(`task not created: ${trigger.kind}`);
  if (nextStart) await db.update(tasks).set({ nextStart }).where(eq(tasks.id, trigger.task.id));
  const [queued] = await queueTasks(db, [trigger.task.id]);
  if (!queued) throw new Error("attempt not queued");
  return { taskId: trigger.task.id, attemptId: queued.attemptId };
}
