import { z } from "zod";
import { currentTraceparent } from "../lib/trace.ts";
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
  /** A comment with `/drover` commands (on an issue, a pull request, or a pull request's diff). */
  command: {
    payload: z.object({ deliveryId: z.string().min(1) }),
    jobId: (p: { deliveryId: string }) => `command-${p.deliveryId}`,
    options: { lane: "main", attempts: 5, backoffMs: 2_000 },
  },
  /** A review of a Drover pull request: "changes requested" reworks it, an approval is recorded. */
  review: {
    payload: z.object({ deliveryId: z.string().min(1) }),
    jobId: (p: { deliveryId: string }) => `review-${p.deliveryId}`,
    options: { lane: "main", attempts: 5, backoffMs: 2_000 },
  },
  /**
   * A push to a branch, or someone's push to a Drover pull request: each of Drover's open pull requests
   * on that base is read, and brought up to date, given to the agent to resolve its conflicts, or left to a
   * person.
   */
  "follow-base": {
    payload: z.object({ deliveryId: z.string().min(1) }),
    jobId: (p: { deliveryId: string }) => `follow-${p.deliveryId}`,
    options: { lane: "main", attempts: 5, backoffMs: 5_000 },
  },
  /** A push that changed `.github/drover.yml`: the file checked at the pushed commit, as a check run. */
  "config-check": {
    payload: z.object({ deliveryId: z.string().min(1) }),
    jobId: (p: { deliveryId: string }) => `config-check-${p.deliveryId}`,
    options: { lane: "main", attempts: 5, backoffMs: 5_000 },
  },
  /**
   * A Drover pull request whose base moved while its agent ran (the push found it in flight, not in
   * review): read once, and decided on as that push would have (left alone, to the agent, to a person).
   */
  "follow-pull": {
    payload: z.object({ taskId: z.number().int().positive(), at: z.number().int() }),
    jobId: (p: { taskId: number; at: number }) => `follow-pull-${p.taskId}-${p.at}`,
    options: { lane: "main", attempts: 5, backoffMs: 5_000 },
  },
  /** One attempt: worktree, agent, commit, push. */
  "run-task": {
    payload: z.object({
      attemptId: z.number().int().positive(),
      /** Set when a lapsed lease is taken over: a new job, since the first one's id may still be kept. */
      epoch: z.number().int().positive().optional(),
    }),
    jobId: (p: { attemptId: number; epoch?: number | undefined }) =>
      p.epoch === undefined ? `run-${p.attemptId}` : `run-${p.attemptId}-e${p.epoch}`,
    options: { lane: "agents", attempts: 3, backoffMs: 10_000 },
  },
  /**
   * `/drover plan` on a spec issue: the configured agent proposes a task graph from a read-only checkout
   * (jobs/plan.ts). On the agents lane, since it runs for minutes; once per command (its delivery and its
   * place in the comment), whatever runs it again.
   */
  plan: {
    payload: z.object({ deliveryId: z.string().min(1), index: z.number().int().nonnegative() }),
    jobId: (p: { deliveryId: string; index: number }) => `plan-${p.deliveryId}-${p.index}`,
    options: { lane: "agents", attempts: 2, backoffMs: 10_000 },
  },
  /**
   * `/drover plan accept`: the proposal the command found created as sub-issues of its issue and its tasks
   * started (jobs/plan/accept.ts). A job of its own on the main lane, not the command's: a large plan is
   * minutes of paced writes. Once per command (its delivery and its place in the comment).
   */
  "plan-accept": {
    payload: z.object({
      deliveryId: z.string().min(1),
      index: z.number().int().nonnegative(),
      /** The plan run (plan_runs.id) whose proposal was accepted: the one shown when the command came. */
      proposalId: z.number().int().positive(),
      /** Tasks labelled for Drover and started (false: `--no-label`). */
      label: z.boolean(),
      /** Who accepted: the tasks are started as their `/drover run`, and credited to them. */
      by: z.object({ login: z.string().min(1), id: z.number().int() }),
    }),
    jobId: (p: { deliveryId: string; index: number }) => `plan-accept-${p.deliveryId}-${p.index}`,
    options: { lane: "main", attempts: 5, backoffMs: 5_000 },
  },
  /** The attempt's result on GitHub: pull request, check run, status comment, labels. */
  publish: {
    payload: z.object({ attemptId: z.number().int().positive() }),
    jobId: (p: { attemptId: number }) => `publish-${p.attemptId}`,
    options: { lane: "main", attempts: 8, backoffMs: 5_000 },
  },
  /** An issue's place in the graph: its state, labels and links, read again from GitHub. */
  "sync-issue": {
    payload: z.object({
      installationId: z.number().int().positive(),
      repoFullName: z.string().regex(/^[^/\s]+\/[^/\s]+$/),
      number: z.number().int().positive(),
      /** Also read its dependencies, sub-issues and parent. */
      links: z.boolean(),
      /** What asked for it (a delivery id, a reconcile pass): part of the job id. */
      cause: z.string().min(1),
      /**
       * The delivery whose payload carries the change (the issue with its labels, or one link): applied
       * from it, reading from GitHub only what it lacks. Without it, the issue is read from GitHub.
       */
      deliveryId: z.string().min(1).optional(),
    }),
    jobId: (p: { repoFullName: string; number: number; cause: string }) =>
      `sync-${p.cause}-${p.repoFullName.replace("/", "-")}-${p.number}`,
    options: { lane: "main", attempts: 5, backoffMs: 2_000 },
  },
  /** Readiness, cycles, fair ordering and the start of ready tasks, for every repository at once. */
  schedule: {
    payload: z.object({}),
    jobId: () => "schedule",
    options: { lane: "main", attempts: 5, backoffMs: 1_000, singleFlight: true },
  },
  /**
   * A failed task's next attempt is due (`at`, ms since the epoch: its `next_attempt_at`): the task goes
   * back to ready and a scheduling pass is asked for, so the retry starts when the status comment says.
   * Queued with a delay by the attempt that failed; a job per task and time, since `schedule`'s one id
   * would swallow a delayed request.
   */
  "retry-due": {
    payload: z.object({ taskId: z.number().int().positive(), at: z.number().int() }),
    jobId: (p: { taskId: number; at: number }) => `retry-due-${p.taskId}-${p.at}`,
    options: { lane: "main", attempts: 5, backoffMs: 1_000 },
  },
  /** A task's status comment and labels, shown again from PostgreSQL (after readiness or a cycle changed). */
  announce: {
    payload: z.object({ taskId: z.number().int().positive(), at: z.number().int() }),
    jobId: (p: { taskId: number; at: number }) => `announce-${p.taskId}-${p.at}`,
    options: { lane: "main", attempts: 5, backoffMs: 2_000 },
  },
  /** GitHub → PostgreSQL: open labelled issues and their links, for whatever webhooks were missed. */
  reconcile: {
    payload: z.object({ at: z.number().int() }),
    jobId: (p: { at: number }) => `reconcile-${p.at}`,
    options: { lane: "main", attempts: 3, backoffMs: 30_000 },
  },
  /**
   * A repository's mirror and its pool of ready worktrees, on the worker machine that takes the job, made
   * or brought up to date in the background, never inside an attempt (jobs/warm-pool.ts). `cause` says
   * what asked and is part of the job id, so one cause never queues it twice: `install-<delivery>` (the app
   * installed on it), `push-<delivery>` (its base branch moved), `start-<repoId>` (a task was labelled in
   * it), `claim-<attemptId>` (an attempt took a ready worktree). A repository Drover has no row for yet
   * (just installed) comes with its installation and name, to read it from GitHub with.
   */
  "warm-pool": {
    payload: z.object({
      repoId: z.number().int().positive(),
      cause: z.string().regex(/^(install|push|start|claim)-[\w.-]{1,200}$/),
      installationId: z.number().int().positive().optional(),
      repoFullName: z
        .string()
        .regex(/^[^/\s]+\/[^/\s]+$/)
        .optional(),
    }),
    jobId: (p: { repoId: number; cause: string }) => `warm-${p.repoId}-${p.cause}`,
    options: { lane: "warm", attempts: 3, backoffMs: 30_000 },
  },
  /**
   * One outgoing webhook owed for one event (a notify_deliveries row the dispatcher made,
   * src/scheduler/notifier.ts): sent, and tried again while the receiver fails: 8 tries over about an hour.
   */
  notify: {
    payload: z.object({ notifyDeliveryId: z.number().int().positive() }),
    jobId: (p: { notifyDeliveryId: number }) => `notify-${p.notifyDeliveryId}`,
    options: { lane: "main", attempts: 8, backoffMs: 30_000 },
  },
  /**
   * A control used on the dashboard (retry, hint, pause, resume, cancel, resolve), or an operator's
   * command line (`drover retry --failed`, `drover import-jsonl` starting what it created): applied as the
   * same `/drover` command by the person who used it (the command line's: by the App's bot), once per
   * `controlId` (jobs/control.ts).
   */
  control: {
    payload: z.object({
      controlId: z.string().regex(/^(dashboard|operator)-[\w-]{8,64}$/),
      repoFullName: z.string().regex(/^[^/\s]+\/[^/\s]+$/),
      number: z.number().int().positive(),
      /** The command as a person would write it: `/drover pause`, `/drover hint <text>`. */
      command: z.string().min(1).max(21_000),
      author: z.object({ login: z.string().min(1), id: z.number().int().nonnegative() }),
      /**
       * person: asked about on GitHub again; token: an operator's token with write access was issued it;
       * operator: the `drover` command line, run where Drover runs (it holds the database and the queue),
       * acting as the App's installation: the job credits the App's bot, and `author` (who asked: for
       * `drover retry --failed`, the machine's user name, id 0) goes to the log only.
       */
      via: z.enum(["person", "token", "operator"]),
    }),
    jobId: (p: { controlId: string }) => p.controlId,
    options: { lane: "main", attempts: 5, backoffMs: 2_000 },
  },
  /** `/readyz`: a job that does nothing, to prove workers take jobs from the queue. */
  canary: {
    payload: z.object({ id: z.string().min(1) }),
    jobId: (p: { id: string }) => `canary-${p.id}`,
    options: { lane: "main", attempts: 1, backoffMs: 1_000 },
  },
} satisfies Record<string, { payload: z.ZodType; jobId: (p: never) => string; options: JobOptions }>;

export type JobName = keyof typeof JOBS;
export type JobPayload<N extends JobName> = z.infer<(typeof JOBS)[N]["payload"]>;

/**
 * `delayMs`: run it no sooner than this long from now (BullMQ holds it meanwhile; recorders in tests ignore
 * it). `backoffMs`: the first retry's wait instead of the catalog's (tests keep retries short with it).
 */
export type Enqueue = <N extends JobName>(
  name: N,
  payload: JobPayload<N>,
  options?: { delayMs?: number; priority?: number; backoffMs?: number },
) => Promise<void>;

/**
 * A field any job's data may carry besides its payload: the W3C `traceparent` of the span that queued it
 * (src/lib/trace.ts), so the job's span continues that trace (webhook → jobs → agent → pull request).
 * Set by the enqueuer only while tracing is on; it names a trace, never a secret, and is not part of the
 * job id (the same work queued from two traces is still one job).
 */
export const Traced = z.object({
  traceparent: z
    .string()
    .regex(/^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/)
    .optional(),
});

/** The traceparent a job's data carries, if it is a well-formed one. */
export function traceparentOf(data: unknown): string | undefined {
  const parsed = Traced.safeParse(data);
  return parsed.success ? parsed.data.traceparent : undefined;
}

export function enqueuer(queue: WorkQueue): Enqueue {
  return async (name, payload, options) => {
    const job = JOBS[name];
    const parsed = job.payload.parse(payload);
    const traceparent = currentTraceparent();
    const data = traceparent ? { ...parsed, traceparent } : parsed;
    await queue.add(name, data, jobIdOf(name, parsed as JobPayload<typeof name>), {
      ...job.options,
      ...options,
    });
  };
}

/** The id the queue knows the job by: the same work always gets the same id. */
export function jobIdOf<N extends JobName>(name: N, payload: JobPayload<N>): string {
  return (JOBS[name].jobId as (p: JobPayload<N>) => string)(payload);
}

/** Queues a job to run every `everyMs`, and once now. */
export async function enqueueEvery<N extends JobName>(
  queue: WorkQueue,
  name: N,
  everyMs: number,
  payload: JobPayload<N>,
): Promise<void> {
  await queue.every(`every-${name}`, everyMs, name, JOBS[name].payload.parse(payload), JOBS[name].options);
}

export function isJobName(name: string): name is JobName {
  return Object.hasOwn(JOBS, name);
}

/**
 * Queues a canary job and waits for a worker to complete it: readiness means the queue is consumed, not
 * just that Redis answers. Resolves with the round trip in ms, or rejects naming what did not happen.
 */
export async function canaryRoundTrip(queue: WorkQueue, timeoutMs: number): Promise<number> {
  const started = performance.now();
  const payload = { id: `${Date.now()}-${Math.random().toString(36).slice(2, 10)}` };
  const jobId = JOBS.canary.jobId(payload);
  await queue.add("canary", payload, jobId, { ...JOBS.canary.options, keep: true });
  try {
    for (;;) {
      const state = await queue.state(JOBS.canary.options.lane, jobId);
      if (state === "completed") return Math.round(performance.now() - started);
      if (state === "failed") throw new Error("the canary job failed");
      if (performance.now() - started > timeoutMs)
        throw new Error(`no worker took the canary job within ${timeoutMs} ms (state: ${state})`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  } finally {
    await queue.remove(JOBS.canary.options.lane, jobId).catch(() => {});
  }
}
