import fc from "fast-check";
import { isDeepStrictEqual } from "node:util";
import { describe, expect, it } from "vitest";
import type { TaskState } from "../../../src/graph/model.ts";
import { TaskGraph, compareKeys, type GraphEvent, type Readiness } from "../../../src/graph/graph.ts";
import {
  issueKey,
  newNode,
  nodeIsDone,
  type Edge,
  type EdgeSource,
  type IssueKey,
  type IssueNode,
} from "../../../src/graph/model.ts";

/**
 * A simulated scheduler drives a graph through random events while an independent model (plain lists,
 * brute-force reachability) says what the truth is. The scheduler only learns readiness through
 * `readinessChanges()`, so missed changes show up as wrong starts or deadlocks.
 */

const k = (n: number) => issueKey("o/r", n);
const SOURCES: EdgeSource[] = ["native", "body", "sub-issue"];

type Step =
  | { type: "label" | "unlabel" | "reopen" | "finish" | "fail"; i: number }
  | { type: "link" | "unlink"; i: number; j: number; source: EdgeSource; downhill: boolean }
  | { type: "unlink-existing"; pick: number }
  | { type: "close"; i: number; notPlanned: boolean }
  | { type: "sched-start" | "sched-finish" | "sched-fail"; pick: number };

interface Scenario {
  n: number;
  nodes: { isTask: boolean; issue: "open" | "completed" | "not_planned"; readable: boolean }[];
  edges: { i: number; j: number; source: EdgeSource; downhill: boolean }[];
  steps: Step[];
}

/** Keys 1..n are nodes; n+1 and n+2 are referenced but start outside the graph. */
const scenario: fc.Arbitrary<Scenario> = fc.integer({ min: 2, max: 40 }).chain((n) => {
  const index = fc.integer({ min: 1, max: n + 2 });
  const edge = fc.record({ i: index, j: index, source: fc.constantFrom(...SOURCES), downhill: fc.boolean() });
  const step: fc.Arbitrary<Step> = fc.oneof(
    {
      arbitrary: fc.record({
        type: fc.constantFrom("label", "unlabel", "reopen", "finish", "fail"),
        i: index,
      }),
      weight: 3,
    },
    { arbitrary: edge.map((e) => ({ ...e, type: "link" as const })), weight: 3 },
    { arbitrary: edge.map((e) => ({ ...e, type: "unlink" as const })), weight: 1 },
    { arbitrary: fc.record({ type: fc.constant("unlink-existing" as const), pick: fc.nat() }), weight: 2 },
    {
      arbitrary: fc.record({ type: fc.constant("close" as const), i: index, notPlanned: fc.boolean() }),
      weight: 2,
    },
    {
      arbitrary: fc.record({
        type: fc.constantFrom("sched-start" as const, "sched-finish" as const, "sched-fail" as const),
        pick: fc.nat(),
      }),
      weight: 6,
    },
  );
  return fc.record({
    n: fc.constant(n),
    nodes: fc.array(
      fc.record({
        isTask: fc.boolean(),
        issue: fc.constantFrom("open", "open", "open", "completed", "not_planned"),
        readable: fc.oneof(
          { arbitrary: fc.constant(true), weight: 9 },
          { arbitrary: fc.constant(false), weight: 1 },
        ),
      }),
      { minLength: n, maxLength: n },
    ),
    edges: fc.array(edge, { maxLength: 2 * n, size: "max" }),
    steps: fc.array(step, { maxLength: 120, size: "max" }),
  });
});

/** The truth, kept as plainly as possible. */
class Model {
  readonly nodes = new Map<IssueKey, IssueNode>();
  readonly edges = new Map<string, Edge>();
  private adjacency: Map<IssueKey, IssueKey[]> | null = null;

  /** Call after every change. */
  changed(): void {
    this.adjacency = null;
  }

  blockers(key: IssueKey): IssueKey[] {
    if (!this.adjacency) {
      this.adjacency = new Map();
      for (const { dependent, blocker } of this.edges.values()) {
        const list = this.adjacency.get(dependent) ?? [];
        if (!list.includes(blocker)) list.push(blocker);
        this.adjacency.set(dependent, list);
      }
    }
    return this.adjacency.get(key) ?? [];
  }

  done(key: IssueKey): boolean {
    const node = this.nodes.get(key);
    return node !== undefined && nodeIsDone(node);
  }

  active(key: IssueKey): boolean {
    return this.nodes.has(key) && !this.done(key);
  }

  why(key: IssueKey): "missing" | "unreadable" | "not-planned" | "open" {
    const node = this.nodes.get(key);
    if (!node) return "missing";
    if (!node.readable) return "unreadable";
    return node.issueState === "closed" ? "not-planned" : "open";
  }

  /** On a cycle of not-done nodes: reaches itself. */
  onCycle(key: IssueKey): boolean {
    if (!this.active(key)) return false;
    const seen = new Set<IssueKey>();
    const todo = this.blockers(key).filter((b) => this.active(b));
    while (todo.length > 0) {
      const next = todo.pop()!;
      if (next === key) return true;
      if (seen.has(next)) continue;
      seen.add(next);
      todo.push(...this.blockers(next).filter((b) => this.active(b)));
    }
    return false;
  }

  hasEdge(dependent: IssueKey, blocker: IssueKey): boolean {
    return SOURCES.some((source) => this.edges.has(`${dependent} ${blocker} ${source}`));
  }
}

function startable(node: IssueNode | undefined): node is IssueNode {
  return (
    node !== undefined &&
    node.isTask &&
    node.readable &&
    node.issueState === "open" &&
    (node.taskState === null || node.taskState === "ready" || node.taskState === "waiting")
  );
}

/** Plain checks instead of `expect` in the hot loop: thousands run per scenario. */
function ensure(condition: boolean, message: () => string): void {
  if (!condition) throw new Error(message());
}

function checkCycle(model: Model, key: IssueKey, cycle: IssueKey[]): void {
  const shown = () => `${key}: ${cycle.join(" → ")}`;
  ensure(cycle.length >= 2 && cycle[0] === cycle[cycle.length - 1], () => `not closed: ${shown()}`);
  ensure(cycle.includes(key), () => `does not pass through ${shown()}`);
  ensure(new Set(cycle.slice(0, -1)).size === cycle.length - 1, () => `not simple: ${shown()}`);
  for (let i = 0; i + 1 < cycle.length; i++) {
    ensure(
      model.hasEdge(cycle[i]!, cycle[i + 1]!),
      () => `no edge ${cycle[i]} → ${cycle[i + 1]} in ${shown()}`,
    );
    ensure(model.active(cycle[i]!), () => `${cycle[i]} is done or missing in ${shown()}`);
  }
}

function run({ n, nodes, edges, steps }: Scenario): void {
  const graph = new TaskGraph();
  const model = new Model();
  const keys = Array.from({ length: n + 2 }, (_, i) => k(i + 1));
  const known = new Map<IssueKey, Readiness>();
  const running = new Set<IssueKey>();

  const setNode = (node: IssueNode) => {
    model.nodes.set(node.key, node);
    graph.upsertNode(node);
  };
  const apply = (event: GraphEvent, change: (node: IssueNode) => IssueNode | null) => {
    const key = "key" in event ? event.key : event.dependent;
    const current = model.nodes.get(key);
    if (event.type !== "label" && !current) {
      ensure(
        graph.apply(event).size === 0,
        () => `${event.type} on ${key}, not in the graph, changed something`,
      );
      return;
    }
    const next = change(current ?? newNode(key));
    if (next) model.nodes.set(key, next);
    graph.apply(event);
  };
  const linkEdge = (step: { i: number; j: number; source: EdgeSource; downhill: boolean }, add: boolean) => {
    // Downhill edges (a higher number waits on a lower one) keep most graphs acyclic.
    const [i, j] = step.downhill ? [Math.max(step.i, step.j), Math.min(step.i, step.j)] : [step.i, step.j];
    const edge = { dependent: k(i), blocker: k(j), source: step.source };
    const id = `${edge.dependent} ${edge.blocker} ${edge.source}`;
    if (add) model.edges.set(id, edge);
    else model.edges.delete(id);
    graph.apply({ type: add ? "link" : "unlink", ...edge });
  };

  nodes.forEach((spec, i) =>
    setNode(
      newNode(k(i + 1), {
        isTask: spec.isTask,
        issueState: spec.issue === "open" ? "open" : "closed",
        closedAs: spec.issue === "open" ? null : spec.issue,
        readable: spec.readable,
      }),
    ),
  );
  for (const edge of edges) linkEdge(edge, true);

  const check = () => {
    model.changed();
    for (const change of graph.readinessChanges()) known.set(change.key, change.readiness);

    const reported = new Set(graph.cycles().map((cycle) => cycle.join(" ")));
    for (const key of keys) {
      const actual = graph.readiness(key);
      if (model.nodes.has(key)) {
        ensure(isDeepStrictEqual(known.get(key), actual), () => `${key} changed without being reported`);
      }

      // (c) every node on a cycle reports a real cycle through it; no other node does.
      if (model.onCycle(key)) {
        if (actual.kind !== "cycle") throw new Error(`${key} is on a cycle but reads ${actual.kind}`);
        checkCycle(model, key, actual.cycle);
        ensure(reported.has(actual.cycle.join(" ")), () => `cycles() misses ${actual.cycle.join(" → ")}`);
        continue;
      }
      const waits = model
        .blockers(key)
        .filter((b) => !model.done(b))
        .sort(compareKeys)
        .map((b) => `${b} ${model.why(b)}`);
      const seen = actual.kind === "waiting" ? actual.on.map((w) => `${w.blocker} ${w.why}`) : [];
      ensure(actual.kind === (waits.length > 0 ? "waiting" : "ready"), () => `${key} reads ${actual.kind}`);
      ensure(seen.join() === waits.join(), () => `${key} waits on ${seen.join()}, expected ${waits.join()}`);
    }
    for (const cycle of graph.cycles()) checkCycle(model, cycle[0]!, cycle);

    // (b) nothing running and nothing ready: every open, unfinished task waits for a person or a cycle.
    const ready = keys.filter((key) => startable(model.nodes.get(key)) && known.get(key)?.kind === "ready");
    if (running.size === 0 && ready.length === 0) {
      const explained = new Map<IssueKey, boolean>();
      const stuckForAReason = (key: IssueKey): boolean => {
        const cached = explained.get(key);
        if (cached !== undefined) return cached;
        explained.set(key, false);
        const node = model.nodes.get(key);
        const result =
          model.onCycle(key) ||
          !startable(node) ||
          model
            .blockers(key)
            .filter((b) => !model.done(b))
            .some((b) => model.why(b) !== "open" || model.onCycle(b) || stuckForAReason(b));
        explained.set(key, result);
        return result;
      };
      for (const key of keys) {
        const node = model.nodes.get(key);
        if (startable(node)) ensure(stuckForAReason(key), () => `${key} is deadlocked`);
      }
    }
  };

  check();
  for (const step of steps) {
    switch (step.type) {
      case "label": {
        const current = model.nodes.get(k(step.i));
        // A label on a failed task starts it afresh.
        const taskState: TaskState | null =
          current?.taskState === "failed" ? null : (current?.taskState ?? null);
        apply({ type: "label", key: k(step.i), fields: { taskState } }, (node) => ({
          ...node,
          isTask: true,
          taskState,
        }));
        break;
      }
      case "unlabel":
        apply({ type: "unlabel", key: k(step.i) }, (node) => ({ ...node, isTask: false }));
        break;
      case "close": {
        const closedAs = step.notPlanned ? "not_planned" : "completed";
        apply({ type: "close", key: k(step.i), closedAs }, (node) => ({
          ...node,
          issueState: "closed",
          closedAs,
        }));
        running.delete(k(step.i));
        break;
      }
      case "reopen":
        apply({ type: "reopen", key: k(step.i) }, (node) => ({
          ...node,
          issueState: "open",
          closedAs: null,
          taskState: node.taskState === "done" ? "ready" : node.taskState,
        }));
        break;
      case "finish":
        apply({ type: "finish", key: k(step.i) }, (node) => ({ ...node, taskState: "done" }));
        running.delete(k(step.i));
        break;
      case "fail":
        apply({ type: "fail", key: k(step.i) }, (node) => ({ ...node, taskState: "failed" }));
        running.delete(k(step.i));
        break;
      case "link":
      case "unlink":
        linkEdge(step, step.type === "link");
        break;
      case "unlink-existing": {
        const edge = [...model.edges.values()][step.pick % Math.max(1, model.edges.size)];
        if (!edge) break;
        model.edges.delete(`${edge.dependent} ${edge.blocker} ${edge.source}`);
        graph.apply({ type: "unlink", ...edge });
        break;
      }
      case "sched-start": {
        const ready = keys.filter(
          (key) => startable(model.nodes.get(key)) && known.get(key)?.kind === "ready",
        );
        const key = ready[step.pick % Math.max(1, ready.length)];
        if (key === undefined) break;
        // (a) never before every blocker is done.
        for (const blocker of model.blockers(key)) {
          ensure(model.done(blocker), () => `${key} starts before ${blocker}`);
        }
        apply({ type: "start", key }, (node) => ({ ...node, taskState: "running" }));
        running.add(key);
        break;
      }
      case "sched-finish":
      case "sched-fail": {
        const key = [...running][step.pick % Math.max(1, running.size)];
        if (key === undefined) break;
        running.delete(key);
        const taskState = step.type === "sched-finish" ? "done" : "failed";
        apply({ type: step.type === "sched-finish" ? "finish" : "fail", key }, (node) => ({
          ...node,
          taskState,
        }));
        break;
      }
    }
    check();
  }

  // (d) the incremental graph reads the same as one rebuilt from the final nodes and edges.
  const fromModel = TaskGraph.rebuild(model.nodes.values(), model.edges.values());
  const fromItself = TaskGraph.rebuild(graph.nodes(), graph.edges());
  for (const key of keys) {
    expect(fromModel.readiness(key), key).toEqual(graph.readiness(key));
    expect(fromItself.readiness(key), key).toEqual(graph.readiness(key));
  }
  expect(fromModel.cycles()).toEqual(graph.cycles());
}

describe("the graph under random events", () => {
  it("never starts early, never deadlocks without cause, reports every cycle, matches a rebuild", () => {
    fc.assert(fc.property(scenario, run), { numRuns: 500 });
  });

  it("holds with many cycles (no downhill bias)", () => {
    fc.assert(
      fc.property(
        scenario.map((s) => ({
          ...s,
          edges: s.edges.map((e) => ({ ...e, downhill: false })),
          steps: s.steps.map((step) => ("downhill" in step ? { ...step, downhill: false } : step)),
        })),
        run,
      ),
      { numRuns: 300 },
    );
  });
});
