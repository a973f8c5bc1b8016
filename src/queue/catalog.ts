import { z } from "zod";
import type { JobOptions, WorkQueue } from "./queue.ts";

/**
 * Every job Drover queues: its payload (ids pointing into PostgreSQL, never secrets or payload copies),
 * its job id (so the same work is never queued twice) and how it retries. Payloads stay readable across
 * deploys: add optional fields, never rename.
 */
export const JOBS = {
  /** A labelled issue: authorise, read config, record the task, announce it, schedule. */
  "start-task": {
    payload: z.object({ deliveryId: z.string().min(1) }),
    jobId: (p: { deliveryId: string }) => `start-${p.deliveryId}`,
    options: { lane: "main", attempts: 5, backoffMs: 2_000 },
  },
  /** An issue closed or a Drover pull request closed: finish the task. */
  "close-task": {
    payload: z.object({ deliveryId: z.string().min(1) }),
    jobId: (p: { deliveryId: string }) => `close-${p.deliveryId}`,
    options: { lane: "main", attempts: 5, backoffMs: 2_000 },
  },
  /** One attempt: worktree, agent, commit, push. */
  "run-task": {
    payload: z.object({ attemptId: z.number().int().positive() }),
    jobId: (p: { attemptId: number }) => `run-${p.attemptId}`,
    options: { lane: "agents", attempts: 3, backoffMs: 10_000 },
  },
  /** The attempt's result on GitHub: pull request, check run, status comment, labels. */
  publish: {
    payload: z.object({ attemptId: z.number().int().positive() }),
    jobId: (p: { attemptId: number }) => `publish-${p.attemptId}`,
    options: { lane: "main", attempts: 8, backoffMs: 5_000 },
  },
} satisfies Record<string, { payload: z.ZodType; jobId: (p: never) => string; options: JobOptions }>;

export type JobName = keyof typeof JOBS;
export type JobPayload<N extends JobName> = z.infer<(typeof JOBS)[N]["payload"]>;

export type Enqueue = <N extends JobName>(name: N, payload: JobPayload<N>) => Promise<void>;

export function enqueuer(queue: WorkQueue): Enqueue {
  return async (name, payload) => {
    const job = JOBS[name];
    const data = job.payload.parse(payload);
    await queue.add(name, data, (job.jobId as (p: typeof data) => string)(data), job.options);
  };
}

export function isJobName(name: string): name is JobName {
  return Object.hasOwn(JOBS, name);
}
