import type { Logger } from "pino";
import type { DroverEnv } from "../src/config/env.ts";
import type { Db } from "../src/db/client.ts";
import type { GitHubApp } from "../src/github/app.ts";
import type { Enqueue } from "../src/queue/job-catalog.ts";

/** What every job handler is given: explicit, so tests build it from real parts. */
export type JobDeps = {
  db: Db;
  enqueue: Enqueue;
  github: GitHubApp;
  env: Pick<DroverEnv, "DROVER_HOME" | "DROVER_AGENT_ENV"> & Partial<Pick<DroverEnv, "DROVER_AGENT_USER">>;
  log: Logger;
  /** Names this worker process in attempt leases. */
  workerId: string;
  /** Agent runs the worker pool can take at once (all worker processes together). */
  capacity: () => Promise<number>;
};

export type JobContext = {
  jobId: string;
  /** True on the queue's last try of this job: a handler records a permanent outcome instead of throwing. */
  lastTry: boolean;
  signal: AbortSignal | undefined;
};
