/**
 * The graph at scale: 10,000 tasks and 30,000 edges (a random DAG plus a few cycles). Prints the time to
 * apply one event and collect the readiness changes (p50/p99 over 1,000 random events), a full rebuild,
 * and the heap the graph holds.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { criticalPaths } from "../src/graph/critical-path.ts";
import { TaskGraph, type GraphEvent } from "../src/graph/graph.ts";
import {
  issueKey,
  newNode,
  type Edge,
  type EdgeSource,
  type IssueKey,
  type IssueNode,
} from "../src/graph/model.ts";
import { integerBelow, seeded } from "../src/lib/random.ts";
import { percentile, round } from "./stats.ts";

const TASKS = 10_000;
const EDGES = 30_000;
const CYCLES = 5;
const EVENTS = 1_000;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

function heapMb(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

/**
 * Most blockers are recent issues (within 200 numbers), some anywhere earlier, as in a real backlog;
 * 30% of issues are done, a few closed as not planned or unreadable. Cycles: short back edges.
 */
function generate(random: () => number): { nodes: IssueNode[]; edges: Edge[]; keys: IssueKey[] } {
  const keys = Array.from({ length: TASKS }, (_, i) => issueKey("bench/graph", i + 1));
  const nodes = keys.map((key, i) => {
    const roll = random();
    return newNode(key, {
      isTask: random() < 0.9,
      createdAt: i * 60_000,
      expectedMs: (5 + integerBelow(random, 115)) * 60_000,
      ...(roll < 0.3
        ? { issueState: "closed" as const, closedAs: "completed" as const, taskState: "done" as const }
        : roll < 0.31
          ? { issueState: "closed" as const, closedAs: "not_planned" as const }
          : roll < 0.315
            ? { readable: false, unreadableReason: "not in this installation" }
            : {}),
    });
  });
  const seen = new Set<string>();
  const edges: Edge[] = [];
  for (let c = 0; c < CYCLES; c++) {
    const start = integerBelow(random, TASKS - 10);
    const length = 2 + c;
    for (let i = 0; i < length; i++) {
      const dependent = start + i;
      const blocker = i === length - 1 ? start : start + i + 1;
      const id = `${dependent} ${blocker}`;
      if (seen.has(id)) continue;
      seen.add(id);
      edges.push({ dependent: keys[dependent]!, blocker: keys[blocker]!, source: "native" });
      // A cycle among done issues is no cycle: keep its members open.
      nodes[dependent] = newNode(keys[dependent]!, { createdAt: dependent * 60_000 });
    }
  }
  const sources: EdgeSource[] = ["native", "native", "native", "body", "sub-issue"];
  while (edges.length < EDGES) {
    const dependent = 1 + integerBelow(random, TASKS - 1);
    const blocker =
      random() < 0.8
        ? Math.max(0, dependent - 1 - integerBelow(random, 200))
        : integerBelow(random, dependent);
    const id = `${dependent} ${blocker}`;
    if (seen.has(id)) continue;
    seen.add(id);
    edges.push({
      dependent: keys[dependent]!,
      blocker: keys[blocker]!,
      source: sources[integerBelow(random, 5)]!,
    });
  }
  return { nodes, edges, keys };
}

function randomEvent(random: () => number, keys: IssueKey[], graph: TaskGraph, edges: Edge[]): GraphEvent {
  const key = keys[integerBelow(random, keys.length)]!;
  const roll = integerBelow(random, 10);
  switch (roll) {
    case 0:
      return { type: "label", key };
    case 1:
      return { type: "unlabel", key };
    case 2: {
      const index = keys.indexOf(key);
      const other = keys[Math.max(0, index - 1 - integerBelow(random, 200))]!;
      // One in ten links points the wrong way and may close a cycle.
      return random() < 0.9
        ? { type: "link", dependent: key, blocker: other, source: "native" }
        : { type: "link", dependent: other, blocker: key, source: "native" };
    }
    case 3: {
      const edge = edges[integerBelow(random, edges.length)]!;
      return { type: "unlink", ...edge };
    }
    case 4:
      return { type: "close", key, closedAs: random() < 0.9 ? "completed" : "not_planned" };
    case 5:
      return { type: "reopen", key };
    case 6:
      return { type: "finish", key };
    case 7:
      return { type: "fail", key };
    default:
      return graph.node(key)?.taskState === "running" ? { type: "finish", key } : { type: "start", key };
  }
}

export function run(): void {
  const random = seeded(7);
  const { nodes, edges, keys } = generate(random);

  const before = heapMb();
  let started = performance.now();
  const graph = TaskGraph.rebuild(nodes, edges);
  const firstRebuildMs = performance.now() - started;
  const heldMb = heapMb() - before;

  const rebuilds: number[] = [];
  for (let i = 0; i < 5; i++) {
    started = performance.now();
    TaskGraph.rebuild(graph.nodes(), graph.edges());
    rebuilds.push(performance.now() - started);
  }
  rebuilds.sort((a, b) => a - b);

  started = performance.now();
  const initial = graph.readinessChanges();
  const initialReadinessMs = performance.now() - started;

  started = performance.now();
  criticalPaths(graph);
  const criticalPathsMs = performance.now() - started;

  const cyclesAtStart = graph.cycles().length;
  const edgesAtStart = graph.edges().length;
  const times: number[] = [];
  const byType = new Map<string, number[]>();
  let changes = 0;
  let affected = 0;
  for (let i = 0; i < EVENTS; i++) {
    const event = randomEvent(random, keys, graph, edges);
    started = performance.now();
    affected += graph.apply(event).size;
    changes += graph.readinessChanges().length;
    const ms = performance.now() - started;
    times.push(ms);
    byType.set(event.type, [...(byType.get(event.type) ?? []), ms]);
  }
  times.sort((a, b) => a - b);
  const p99ByType = Object.fromEntries(
    [...byType].map(([type, list]) => [
      type,
      round(
        percentile(
          list.sort((a, b) => a - b),
          99,
        ),
        3,
      ),
    ]),
  );

  const cycles = graph.cycles().length;
  const figures = {
    bench: "graph",
    tasks: graph.size,
    edges: edgesAtStart,
    cyclesAtStart,
    cyclesAtEnd: cycles,
    eventMs: {
      p50: round(percentile(times, 50), 4),
      p99: round(percentile(times, 99), 4),
      max: round(times[times.length - 1]!, 3),
      p99ByType,
    },
    meanAffectedPerEvent: round(affected / EVENTS, 2),
    meanChangesPerEvent: round(changes / EVENTS, 2),
    rebuildMs: {
      first: round(firstRebuildMs, 1),
      median: round(rebuilds[2]!, 1),
      best: round(rebuilds[0]!, 1),
    },
    initialReadinessMs: round(initialReadinessMs, 1),
    initialReadinessNodes: initial.length,
    criticalPathsMs: round(criticalPathsMs, 1),
    graphHeapMb: round(heldMb, 1),
    heapUsedMb: round(heapMb(), 1),
    targets: { eventP50Ms: 10, rebuildMs: 1000 },
  };
  console.log(
    `${figures.tasks} tasks, ${figures.edges} edges, ${cyclesAtStart} cycles (${cycles} after); ${EVENTS} random events`,
  );
  console.log(`event + readiness changes: p50 ${figures.eventMs.p50} ms, p99 ${figures.eventMs.p99} ms`);
  console.log(`rebuild: first ${figures.rebuildMs.first} ms, median of 5 ${figures.rebuildMs.median} ms`);
  console.log(`heap held by the graph: ${figures.graphHeapMb} MB`);
  console.log(JSON.stringify(figures));
}
