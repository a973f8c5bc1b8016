import type { TaskGraph } from "./graph.ts";
import { DEFAULT_EXPECTED_MS, type IssueKey } from "./model.ts";

/**
 * For every node not done: its own expected duration plus the longest chain of work that waits on it.
 * Work on a cycle cannot run until a person breaks the cycle, so cycle members count 0 and end the chain.
 * One pass in topological order (dependents before their blockers), no recursion.
 */
export function criticalPaths(graph: TaskGraph): Map<IssueKey, number> {
  const counts = (key: IssueKey): boolean => !graph.isDone(key) && graph.node(key) !== undefined;
  const inDag = (key: IssueKey): boolean => counts(key) && !graph.inCycle(key);

  const paths = new Map<IssueKey, number>();
  const waitingDependents = new Map<IssueKey, number>();
  const queue: IssueKey[] = [];
  for (const node of graph.nodes()) {
    if (!inDag(node.key)) {
      if (counts(node.key)) paths.set(node.key, 0);
      continue;
    }
    let pending = 0;
    for (const dependent of graph.dependentsOf(node.key)) if (inDag(dependent)) pending += 1;
    waitingDependents.set(node.key, pending);
    if (pending === 0) queue.push(node.key);
  }

  for (let i = 0; i < queue.length; i++) {
    const key = queue[i]!;
    let longest = 0;
    for (const dependent of graph.dependentsOf(key)) {
      if (inDag(dependent)) longest = Math.max(longest, paths.get(dependent)!);
    }
    paths.set(key, graph.node(key)!.expectedMs + longest);
    for (const blocker of graph.blockersOf(key).keys()) {
      const pending = waitingDependents.get(blocker);
      if (pending === undefined) continue;
      waitingDependents.set(blocker, pending - 1);
      if (pending === 1) queue.push(blocker);
    }
  }
  return paths;
}

/** How long a task is expected to take: the median of its last ten attempts, or `fallbackMs` [10 min]. */
export function expectedDuration(
  pastDurationsMs: readonly number[],
  fallbackMs = DEFAULT_EXPECTED_MS,
): number {
  const recent = pastDurationsMs.filter((ms) => Number.isFinite(ms) && ms >= 0).slice(-10);
  if (recent.length === 0) return fallbackMs;
  recent.sort((a, b) => a - b);
  const middle = Math.floor(recent.length / 2);
  return recent.length % 2 === 1 ? recent[middle]! : (recent[middle - 1]! + recent[middle]!) / 2;
}

/**
 * `criticalPaths`, kept current as the graph changes: after a change, `update` recomputes the changed
 * nodes and walks up to their blockers only while a value moves. A task finishing usually costs a few
 * lookups (its blockers are done, so nothing above it moves), where `criticalPaths` walks every node.
 */
export class CriticalPaths {
  readonly #graph: TaskGraph;
  #paths: Map<IssueKey, number>;

  constructor(graph: TaskGraph) {
    this.#graph = graph;
    this.#paths = criticalPaths(graph);
  }

  get paths(): ReadonlyMap<IssueKey, number> {
    return this.#paths;
  }

  /**
   * `changed`: every node whose own fields, done-ness, cycle membership or dependents changed (for an edge
   * change: its blocker before and after).
   */
  update(changed: Iterable<IssueKey>): void {
    const graph = this.#graph;
    const counts = (key: IssueKey): boolean => graph.node(key) !== undefined && !graph.isDone(key);
    const queue = [...new Set(changed)];
    const queued = new Set(queue);
    for (let i = 0; i < queue.length; i++) {
      const key = queue[i]!;
      queued.delete(key);
      let next: number | undefined;
      if (!counts(key)) next = undefined;
      else if (graph.inCycle(key)) next = 0;
      else {
        let longest = 0;
        for (const dependent of graph.dependentsOf(key)) {
          if (counts(dependent) && !graph.inCycle(dependent))
            longest = Math.max(longest, this.#paths.get(dependent) ?? 0);
        }
        next = graph.node(key)!.expectedMs + longest;
      }
      if (next === this.#paths.get(key)) continue;
      if (next === undefined) this.#paths.delete(key);
      else this.#paths.set(key, next);
      for (const blocker of graph.blockersOf(key).keys()) {
        if (queued.has(blocker)) continue;
        queued.add(blocker);
        queue.push(blocker);
      }
    }
  }
}
