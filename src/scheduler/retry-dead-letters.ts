import type { Db } from "../db/client.ts";
import { markRetried, parkedDeadLetters, unmarkRetried, type DeadLetter } from "../db/dead-letters.ts";
import { getDelivery } from "../db/deliveries.ts";
import { deliveryRequeueKey, forgetRequeues } from "../db/requeues.ts";
import { JOBS, enqueuer, isJobName, jobIdOf } from "../queue/job-catalog.ts";
import type { WorkQueue } from "../queue/queue.ts";

export type RetryTarget = { deliveryId: string } | { jobId: string };

export type RetriedLetter = {
  letter: DeadLetter;
  /** Queued again; or why not (the letter stays parked). */
  outcome: { kind: "queued"; jobId: string } | { kind: "refused"; why: string };
};

export type RetryResult =
  | { kind: "retried"; letters: RetriedLetter[] }
  /** Nothing parked under this id: `why` says what was found instead. */
  | { kind: "unknown"; why: string };

/**
 * `drover retry`: the parked work of a delivery (its jobs that failed for good) or one parked job, run
 * again after a fix. Each dead letter is unparked, its failed job taken off the queue (a job id still
 * kept as failed would make queueing it a no-op), its backoff forgotten, and the job queued again with
 * the payload it had. Should it fail for good again, it is parked again.
 */
export async function retryDeadLetters(
  deps: { db: Db; queue: WorkQueue },
  target: RetryTarget,
): Promise<RetryResult> {
  const letters = await parkedDeadLetters(deps.db, target);
  if (letters.length === 0) return { kind: "unknown", why: await whyNothingParked(deps.db, target) };
  const retried: RetriedLetter[] = [];
  for (const letter of letters) retried.push({ letter, outcome: await retryOne(deps, letter) });
  return { kind: "retried", letters: retried };
}

async function retryOne(
  deps: { db: Db; queue: WorkQueue },
  letter: DeadLetter,
): Promise<RetriedLetter["outcome"]> {
  const name = letter.jobName;
  if (!isJobName(name)) return { kind: "refused", why: `this version of Drover has no job "${name}"` };
  const parsed = JOBS[name].payload.safeParse(letter.payload);
  if (!parsed.success)
    return { kind: "refused", why: `its payload no longer fits job ${name}: ${parsed.error.message}` };
  const payload = parsed.data as never;
  const jobId = jobIdOf(name, payload);
  if (!(await markRetried(deps.db, letter.jobId)))
    return { kind: "refused", why: "another retry took it meanwhile" };
  try {
    const lane = JOBS[name].options.lane;
    await deps.queue.remove(lane, letter.jobId);
    if (jobId !== letter.jobId) await deps.queue.remove(lane, jobId);
    await forgetRequeues(deps.db, [
      letter.jobId,
      jobId,
      ...(letter.deliveryId ? [deliveryRequeueKey(letter.deliveryId)] : []),
    ]);
    await enqueuer(deps.queue)(name, payload);
    return { kind: "queued", jobId };
  } catch (error) {
    await unmarkRetried(deps.db, letter.jobId);
    return { kind: "refused", why: `it could not be queued: ${(error as Error).message}` };
  }
}

async function whyNothingParked(db: Db, target: RetryTarget): Promise<string> {
  if ("jobId" in target)
    return `no job ${target.jobId} is parked (none by that id failed for good, or it was retried already)`;
  const delivery = await getDelivery(db, target.deliveryId);
  if (!delivery) return `no delivery ${target.deliveryId} is recorded`;
  return `delivery ${target.deliveryId} has nothing parked: none of its jobs failed for good, or they were retried already`;
}
