import type { Logger } from "pino";
import type { Db } from "../db/client.ts";
import { pruneGraphChanges, readGeneration, setCycles, setReadiness } from "../db/graph-rows.ts";
import { queueTasks, releaseDueRetries } from "../db/tasks.ts";
import type { Enqueue } from "../queue/job-catalog.ts";
import { LiveGraph } from "./live-graph.ts";
import { planPass } from "./plan.ts";

export type ScheduleDeps = {
  db: Db;
  enqueue: Enqueue;
  log: Logger;
  /** Agent runs the worker pool can take at once. */
  capacity: () => Promise<number>;
  /** How long after it started a task is shown as queued. [QUEUED_SHOWN_AFTER_MS; tests draining the queue: 0] */
  queuedShownAfterMs?: number;
};

export type PassResult = { rounds: number; started: number[]; changed: number[] };

/** A pass that keeps finding changes after this many rounds stops; the next request starts it again. */
const MAX_ROUNDS = 5;
/** Change-log rows older than this are pruned (a process whose graph is older loads it whole). */
const CHANGES_KEPT_MS = 15 * 60_000;
const PRUNE_EVERY_MS = 60_000;
/**
 * A task that only started (queued) is shown after this long: a worker usually takes it first and says
 * "Running", and the late announcement then finds nothing to change, so the comment is not made "Queued"
 * only to be edited seconds later (one content write of the installation's 500 an hour). A task still
 * waiting for a worker by then is shown as queued.
 */
const QUEUED_SHOWN_AFTER_MS = 10_000;

/** One graph per database a process schedules for (tests and the demo open several). */
const liveGraphs = new WeakMap<Db, LiveGraph>();
let cursor = 0;
let prunedAt = 0;

/**
 * One scheduling pass over every repository: bring the in-memory graph up to date with what changed in
 * PostgreSQL, decide (pure, in `planPass`), then apply: readiness and cycle changes (each shown on its
 * issue by an `announce` job), and attempts for the tasks that start, each queued as `run-task`. Runs as
 * a single-flight job, and goes round again while something changed underneath it.
 */
export async function schedulePass(deps: ScheduleDeps): Promise<PassResult> {
  const result: PassResult = { rounds: 0, started: [], changed: [] };
  let live = liveGraphs.get(deps.db);
  if (!live) liveGraphs.set(deps.db, (live = new LiveGraph()));
  try {
    while (result.rounds < MAX_ROUNDS) {
      result.rounds += 1;
      // Failed attempts whose backoff is over become ready again. Each retry's own delayed job
      // (`retry-due`) releases it on time; this catches those whose job was lost (the watchdog asks for a
      // pass every 10 s).
      if (result.rounds === 1) await releaseDueRetries(deps.db);
      const generation = await readGeneration(deps.db);
      const [{ consider }, capacity] = await Promise.all([live.refresh(deps.db), deps.capacity()]);
      const plan = planPass(live, consider, { capacity, cursor: cursor++ });
      const moved = await setReadiness(deps.db, plan.readiness);
      await setCycles(deps.db, plan.cycles);
      const queued = await queueTasks(deps.db, plan.start);
      for (const attempt of queued) await deps.enqueue("run-task", { attemptId: attempt.attemptId });

      const started = new Set(queued.map((q) => q.taskId));
      const changed = new Set([...moved, ...plan.cycles.map((c) => c.id), ...started]);
      const at = Date.now();
      for (const taskId of changed) {
        const delayMs = deps.queuedShownAfterMs ?? QUEUED_SHOWN_AFTER_MS;
        const options = started.has(taskId) && delayMs > 0 ? { delayMs } : {};
        await deps.enqueue("announce", { taskId, at }, options);
      }
      result.started.push(...queued.map((q) => q.taskId));
      result.changed.push(...changed);
      deps.log.info({ round: result.rounds, started: queued.length, changed: changed.size }, "schedule pass");
      if ((await readGeneration(deps.db)) === generation) break;
    }
  } catch (error) {
    // The graph in memory has moved past changes whose decisions were not applied: the next pass loads
    // it from scratch rather than never look at those tasks again.
    liveGraphs.delete(deps.db);
    throw error;
  }
  if (Date.now() - prunedAt > PRUNE_EVERY_MS) {
    prunedAt = Date.now();
    await pruneGraphChanges(deps.db, CHANGES_KEPT_MS);
  }
  return result;
}
