import type { Logger } from "pino";
import type { DroverEnv } from "../src/config/env.ts";
import type { Db } from "../src/db/client.ts";
import type { GitHubApp } from "../src/github/app.ts";
import type { Enqueue } from "../src/queue/job-catalog.ts";

/** What the notify job reads (jobs/notify.ts): targets, signing, private receivers, links. */
type NotifyEnv =
  "DROVER_NOTIFY" | "DROVER_NOTIFY_SECRET" | "DROVER_NOTIFY_PRIVATE" | "DROVER_PUBLIC_URL" | "GITHUB_WEB_URL";

/** What every job handler is given: explicit, so tests build it from real parts. */
export type JobDeps = {
  db: Db;
  enqueue: Enqueue;
  github: GitHubApp;
  env: Pick<DroverEnv, "DROVER_HOME" | "DROVER_AGENT_ENV"> &
    Partial<
      Pick<
        DroverEnv,
        "DROVER_AGENT_USER" | "DROVER_AGENT_CREDENTIALS" | "DROVER_REGISTRY_FILES" | "DROVER_LEASE_MS"
      >
    > &
    Partial<Pick<DroverEnv, NotifyEnv>>;
  log: Logger;
  /** Names this worker process in attempt leases. */
  workerId: string;
  /** Agent runs the worker pool can take at once (all worker processes together). */
  capacity: () => Promise<number>;
  /** How long after it started a task is shown as queued (src/scheduler/schedule.ts); tests may say 0. */
  queuedShownAfterMs?: number;
};

/** What becomes of a job whose handler throws; decided by the job wrapper alone (`fateOf` in catalog.ts). */
export type JobFate =
  /** It runs again after `ms`, without spending a try (GitHub asked to wait, or the issue is busy). */
  | { kind: "wait"; ms: number }
  /** It runs again after the queue's backoff. */
  | { kind: "retry" }
  /** It fails for good, with `reason`: a sentence a person can act on. */
  | { kind: "final"; reason: string };

export type JobContext = {
  jobId: string;
  /**
   * What the wrapper will do with `error` should the handler throw it: a handler that must leave its
   * records right either way (run-task hands its attempt back, or concludes it) asks here.
   */
  fate: (error: unknown) => JobFate;
  signal: AbortSignal | undefined;
};
