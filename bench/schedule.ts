/**
 * Simulated execution (discrete events, no real time) of generated task graphs on a pool of workers.
 * Prints makespan / lower bound for Drover's order (priority, critical path, age) and for plain
 * priority-then-age, where lower bound = max(critical path, total work / workers).
 */
import { criticalPaths } from "../src/graph/critical-path.ts";
import { TaskGraph } from "../src/graph/graph.ts";
import { issueKey, newNode, type Edge, type IssueKey, type IssueNode } from "../src/graph/model.ts";
import { compareKeys } from "../src/graph/model.ts";
import { compareReady } from "../src/graph/order.ts";
import { between, integerBelow, seeded } from "../src/lib/random.ts";
import { round } from "./stats.ts";

const WORKERS = 4;
const MINUTE = 60_000;
const TARGET = 1.05;

interface Workload {
  name: string;
  nodes: IssueNode[];
  edges: Edge[];
  /** The real duration; the scheduler only sees `expectedMs`, off by up to ±20%. */
  actualMs: Map<IssueKey, number>;
}

type Order = (graph: TaskGraph) => (a: IssueNode, b: IssueNode) => number;

const droverOrder: Order = (graph) => {
  const paths = criticalPaths(graph);
  return (a, b) => compareReady(a, b, paths);
};

const priorityThenAge: Order = () => (a, b) =>
  a.priority - b.priority || a.createdAt - b.createdAt || compareKeys(a.key, b.key);

/** `n` tasks with durations from 5 to 120 minutes (log-uniform), in a random age order. */
function tasks(seed: number, n: number): { random: () => number; keys: IssueKey[]; workload: Workload } {
  const random = seeded(seed);
  const keys = Array.from({ length: n }, (_, i) => issueKey("bench/schedule", i + 1));
  const ages = keys.map((_, i) => i).sort(() => random() - 0.5);
  const actualMs = new Map<IssueKey, number>();
  const nodes = keys.map((key, i) => {
    const actual = Math.round(Math.exp(between(random, Math.log(5), Math.log(120))) * MINUTE);
    actualMs.set(key, actual);
    return newNode(key, {
      expectedMs: Math.round(actual * between(random, 0.8, 1.2)),
      createdAt: ages[i]! * MINUTE,
    });
  });
  return { random, keys, workload: { name: "", nodes, edges: [], actualMs } };
}

const edge = (dependent: IssueKey, blocker: IssueKey): Edge => ({ dependent, blocker, source: "native" });

function chain(seed: number, n: number): Workload {
  const { keys, workload } = tasks(seed, n);
  for (let i = 1; i < n; i++) workload.edges.push(edge(keys[i]!, keys[i - 1]!));
  return { ...workload, name: `chain-${n}` };
}

function fanOut(seed: number, n: number): Workload {
  const { keys, workload } = tasks(seed, n);
  for (let i = 1; i < n; i++) workload.edges.push(edge(keys[i]!, keys[0]!));
  return { ...workload, name: `fan-out-1x${n - 1}` };
}

function fanIn(seed: number, n: number): Workload {
  const { keys, workload } = tasks(seed, n);
  for (let i = 0; i < n - 1; i++) workload.edges.push(edge(keys[n - 1]!, keys[i]!));
  return { ...workload, name: `fan-in-${n - 1}x1` };
}

/** A chain of `length` tasks next to independent ones, the chain the youngest work: age alone starts it last. */
function chainBesideWork(seed: number, n: number, length: number): Workload {
  const { keys, workload } = tasks(seed, n);
  const nodes = workload.nodes.map((node, i) =>
    i < length ? { ...node, createdAt: node.createdAt + n * MINUTE } : node,
  );
  for (let i = 1; i < length; i++) workload.edges.push(edge(keys[i]!, keys[i - 1]!));
  return { ...workload, nodes, name: `chain-${length}-beside-${n - length}` };
}

/** Each task waits on 0..2×`blockers` earlier tasks, picked uniformly. */
function randomDag(seed: number, n: number, blockers: number): Workload {
  const { random, keys, workload } = tasks(seed, n);
  for (let i = 1; i < n; i++) {
    const count = integerBelow(random, 2 * blockers + 1);
    const chosen = new Set<number>();
    for (let c = 0; c < count; c++) chosen.add(integerBelow(random, i));
    for (const j of chosen) workload.edges.push(edge(keys[i]!, keys[j]!));
  }
  return { ...workload, name: `random-dag-${n}-avg${blockers}-s${seed}` };
}

/** `layers` layers; each task waits on 1..3 tasks of the layer before. */
function layered(seed: number, n: number, layers: number): Workload {
  const { random, keys, workload } = tasks(seed, n);
  const width = Math.ceil(n / layers);
  for (let i = width; i < n; i++) {
    const layerStart = Math.floor(i / width) * width - width;
    const count = 1 + integerBelow(random, 3);
    const chosen = new Set<number>();
    for (let c = 0; c < count; c++) chosen.add(layerStart + integerBelow(random, width));
    for (const j of chosen) workload.edges.push(edge(keys[i]!, keys[j]!));
  }
  return { ...workload, name: `layered-dag-${n}x${layers}-s${seed}` };
}

/** Longest chain of actual work, and all actual work. */
function lowerBound(workload: Workload): { criticalPath: number; totalWork: number; bound: number } {
  const actual = TaskGraph.rebuild(
    workload.nodes.map((node) => ({ ...node, expectedMs: workload.actualMs.get(node.key)! })),
    workload.edges,
  );
  const criticalPath = Math.max(...criticalPaths(actual).values());
  const totalWork = [...workload.actualMs.values()].reduce((sum, ms) => sum + ms, 0);
  return { criticalPath, totalWork, bound: Math.max(criticalPath, totalWork / WORKERS) };
}

/** List scheduling: whenever a worker is free, it takes the first ready task in `order`. */
function makespan(workload: Workload, order: Order): number {
  const graph = TaskGraph.rebuild(workload.nodes, workload.edges);
  const compare = order(graph);
  const ready = new Set<IssueKey>();
  const running: { key: IssueKey; end: number }[] = [];
  let now = 0;
  let finished = 0;
  const learn = () => {
    for (const { key, readiness } of graph.readinessChanges()) {
      if (readiness.kind === "ready" && graph.node(key)!.taskState === null) ready.add(key);
      else ready.delete(key);
    }
  };
  learn();
  for (;;) {
    while (running.length < WORKERS && ready.size > 0) {
      const best = [...ready].map((key) => graph.node(key)!).reduce((a, b) => (compare(b, a) < 0 ? b : a));
      ready.delete(best.key);
      graph.apply({ type: "start", key: best.key });
      running.push({ key: best.key, end: now + workload.actualMs.get(best.key)! });
    }
    if (running.length === 0) break;
    running.sort((a, b) => a.end - b.end);
    const next = running.shift()!;
    now = next.end;
    graph.apply({ type: "finish", key: next.key });
    finished += 1;
    learn();
  }
  if (finished !== workload.nodes.length)
    throw new Error(`${workload.name}: ${finished} of ${workload.nodes.length} ran`);
  return now;
}

export function run(): void {
  const workloads = [
    chain(1, 50),
    fanOut(2, 200),
    fanIn(3, 200),
    chainBesideWork(4, 200, 40),
    ...[11, 12, 13].map((seed) => randomDag(seed, 200, 1)),
    ...[21, 22, 23].map((seed) => randomDag(seed, 200, 2)),
    ...[31, 32, 33].map((seed) => randomDag(seed, 200, 4)),
    ...[41, 42].map((seed) => layered(seed, 200, 10)),
    ...[51, 52].map((seed) => layered(seed, 200, 40)),
  ];

  const results: Record<
    string,
    { tasks: number; edges: number; boundH: number; drover: number; plain: number }
  > = {};
  console.log(
    `workers: ${WORKERS}; ratio = makespan / max(critical path, total work / workers); target ≤ ${TARGET}`,
  );
  console.log(
    ["graph".padEnd(30), "tasks", "edges", "bound(h)", "bound is", "drover", "priority+age"].join("\t"),
  );
  for (const workload of workloads) {
    const { criticalPath, totalWork, bound } = lowerBound(workload);
    const drover = makespan(workload, droverOrder) / bound;
    const plain = makespan(workload, priorityThenAge) / bound;
    results[workload.name] = {
      tasks: workload.nodes.length,
      edges: workload.edges.length,
      boundH: round(bound / 3_600_000, 2),
      drover: round(drover),
      plain: round(plain),
    };
    console.log(
      [
        workload.name.padEnd(30),
        workload.nodes.length,
        workload.edges.length,
        round(bound / 3_600_000, 2),
        criticalPath >= totalWork / WORKERS ? "path" : "work",
        round(drover),
        round(plain),
      ].join("\t"),
    );
  }
  const ratios = Object.values(results);
  const worstDrover = Math.max(...ratios.map((r) => r.drover));
  const worstPlain = Math.max(...ratios.map((r) => r.plain));
  const over = Object.entries(results)
    .filter(([, r]) => r.drover > TARGET)
    .map(([name]) => name);
  console.log(
    JSON.stringify({
      bench: "schedule",
      workers: WORKERS,
      target: TARGET,
      worst: { drover: worstDrover, priorityThenAge: worstPlain },
      overTarget: over,
      graphs: Object.fromEntries(
        Object.entries(results).map(([name, r]) => [name, { drover: r.drover, priorityThenAge: r.plain }]),
      ),
    }),
  );
}
