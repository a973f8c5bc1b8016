/** What `drover chaos` does to a run unless told otherwise; kept apart from the faults' code, which is heavy. */

export interface ChaosFaults {
  /** kill -9 of a worker process while it runs an agent; a replacement is started at once. Default 1. */
  kills: number;
  /** The run's queue emptied, as after a Redis restart without persistence. Default 1. */
  queueFlushes: number;
  /** Empty the queue with FLUSHALL: every key on that Redis goes, not only the run's. Default false. */
  flushAll: boolean;
  /** PostgreSQL restarted with pg_ctlcluster (skipped, with a note, where there is none). Default 0. */
  pgRestarts: number;
  /** Past deliveries sent again with their own ids (GitHub's "Redeliver"). Default 4. */
  duplicates: number;
  /** Chance that a delivery is held back and sent after the next one. Default 0.15. */
  reorderChance: number;
}

export const DEFAULT_FAULTS: ChaosFaults = {
  kills: 1,
  queueFlushes: 1,
  flushAll: false,
  pgRestarts: 0,
  duplicates: 4,
  reorderChance: 0.15,
};

/** How long a chaos run may take before it counts as stuck. */
export const DEFAULT_CHAOS_TIMEOUT_MS = 180_000;
