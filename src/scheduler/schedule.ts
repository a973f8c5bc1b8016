import type { Logger } from "pino";
import { taskConfigOrDefaults } from "../config/stored.ts";
import type { Db } from "../db/client.ts";
import { loadGraph, readGeneration, recentDurations, setCycles, setReadiness } from "../db/graph.ts";
import { queueTasks, releaseDueRetries } from "../db/tasks.ts";
import type { Enqueue } from "../queue/catalog.ts";
import { planPass } from "./plan.ts";

export type ScheduleDeps = {
  db: Db;
  enqueue: Enqueue;
  log: Logger;
  /** Agent runs the worker pool can take at once. */
  capacity: () => Promise<number>;
};

export type PassResult = { rounds: number; started: number[]; changed: number[] };

/** A pass that keeps finding changes after this many rounds stops; the next request starts it again. */
const MAX_ROUNDS = 5;
let cursor = 0;

/**
 * One scheduling pass over every repository: read the graph from PostgreSQL, decide (pure, in
 * `planPass`), then apply: readiness and cycle changes (each shown on its issue by an `announce` job),
 * and attempts for the tasks that start, each queued as `run-task`. Runs as a single-flight job, and goes
 * round again while something changed underneath it.
 */
export async function schedulePass(deps: ScheduleDeps): Promise<PassResult> {
  const result: PassResult = { rounds: 0, started: [], changed: [] };
  while (result.rounds < MAX_ROUNDS) {
    result.rounds += 1;
    // Failed attempts whose backoff is over become ready again (the watchdog asks for a pass every 10 s).
    if (result.rounds === 1) await releaseDueRetries(deps.db);
    const generation = await readGeneration(deps.db);
    const [graph, durations, capacity] = await Promise.all([
      loadGraph(deps.db),
      recentDurations(deps.db),
      deps.capacity(),
    ]);
    const plan = planPass({
      issues: graph.issues,
      edges: graph.edges,
      tasks: graph.tasks.map((task) => ({
        ...task,
        maxWorkers: taskConfigOrDefaults(task).max_workers,
      })),
      durations,
      capacity,
      cursor: cursor++,
    });
    const moved = await setReadiness(deps.db, plan.readiness);
    await setCycles(deps.db, plan.cycles);
    const queued = await queueTasks(deps.db, plan.start);
    for (const attempt of queued) await deps.enqueue("run-task", { attemptId: attempt.attemptId });

    const changed = new Set([...moved, ...plan.cycles.map((c) => c.id), ...queued.map((q) => q.taskId)]);
    const at = Date.now();
    for (const taskId of changed) await deps.enqueue("announce", { taskId, at });
    result.started.push(...queued.map((q) => q.taskId));
    result.changed.push(...changed);
    deps.log.info({ round: result.rounds, started: queued.length, changed: changed.size }, "schedule pass");
    if ((await readGeneration(deps.db)) === generation) break;
  }
  return result;
}
