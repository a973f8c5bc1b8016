import { describe, expect, it } from "vitest";
import { TaskGraph, type Readiness } from "../../../src/graph/graph.ts";
import { issueKey, newNode, parseIssueKey, type IssueNode } from "../../../src/graph/model.ts";

const k = (n: number) => issueKey("o/r", n);

/** A graph of open tasks 1..n with `[dependent, blocker]` native edges. */
function graphOf(
  n: number,
  edges: [number, number][],
  nodes: Partial<Record<number, Partial<IssueNode>>> = {},
) {
  const graph = new TaskGraph();
  for (let i = 1; i <= n; i++) graph.upsertNode(newNode(k(i), nodes[i] ?? {}));
  for (const [dependent, blocker] of edges) graph.link(k(dependent), k(blocker), "native");
  return graph;
}

const kinds = (graph: TaskGraph, n: number) =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [i + 1, graph.readiness(k(i + 1)).kind]));

describe("issue keys", () => {
  it("round-trips and lower-cases the repository", () => {
    expect(issueKey("Owner/Repo", 12)).toBe("owner/repo#12");
    expect(parseIssueKey("owner/repo#12")).toEqual({ repoFullName: "owner/repo", number: 12 });
    expect(parseIssueKey("owner#12")).toBeNull();
    expect(parseIssueKey("owner/repo#0")).toBeNull();
  });
});

describe("readiness", () => {
  it("releases a chain one link at a time", () => {
    const graph = graphOf(3, [
      [2, 1],
      [3, 2],
    ]);
    expect(kinds(graph, 3)).toEqual({ 1: "ready", 2: "waiting", 3: "waiting" });
    graph.apply({ type: "finish", key: k(1) });
    expect(kinds(graph, 3)).toEqual({ 1: "ready", 2: "ready", 3: "waiting" });
    graph.apply({ type: "close", key: k(2), closedAs: "completed" });
    expect(graph.readiness(k(3))).toEqual({ kind: "ready" });
  });

  it("waits on a diamond until both sides are done", () => {
    const graph = graphOf(4, [
      [2, 1],
      [3, 1],
      [4, 2],
      [4, 3],
    ]);
    graph.apply({ type: "finish", key: k(1) });
    graph.apply({ type: "finish", key: k(2) });
    expect(graph.readiness(k(4))).toEqual({
      kind: "waiting",
      on: [{ blocker: k(3), why: "open", source: "native" }],
    });
    graph.apply({ type: "finish", key: k(3) });
    expect(graph.readiness(k(4))).toEqual({ kind: "ready" });
  });

  it("keeps waiting on a blocker closed as not planned, and says so", () => {
    const graph = graphOf(2, [[2, 1]]);
    graph.apply({ type: "close", key: k(1), closedAs: "not_planned" });
    expect(graph.isDone(k(1))).toBe(false);
    expect(graph.readiness(k(2))).toEqual({
      kind: "waiting",
      on: [{ blocker: k(1), why: "not-planned", source: "native" }],
    });
  });

  it("waits on an unreadable blocker and on one not in the graph", () => {
    const graph = graphOf(2, [[2, 1]], { 1: { readable: false, unreadableReason: "other installation" } });
    graph.link(k(2), k(9), "body");
    expect(graph.readiness(k(2))).toEqual({
      kind: "waiting",
      on: [
        { blocker: k(1), why: "unreadable", source: "native" },
        { blocker: k(9), why: "missing", source: "body" },
      ],
    });
  });

  it("counts a closed issue without a close reason as completed", () => {
    const graph = graphOf(2, [[2, 1]], { 1: { issueState: "closed", closedAs: null } });
    expect(graph.readiness(k(2)).kind).toBe("ready");
  });

  it("sends dependents back to waiting when a blocker is reopened", () => {
    const graph = graphOf(3, [
      [2, 1],
      [3, 1],
    ]);
    graph.apply({ type: "close", key: k(1), closedAs: "completed" });
    graph.readinessChanges();
    expect(kinds(graph, 3)).toEqual({ 1: "ready", 2: "ready", 3: "ready" });

    const affected = graph.apply({ type: "reopen", key: k(1) });
    expect([...affected].sort()).toEqual([k(1), k(2), k(3)]);
    expect(graph.readinessChanges().map((change) => [change.key, change.readiness.kind])).toEqual([
      [k(2), "waiting"],
      [k(3), "waiting"],
    ]);
  });

  it("reopening a done task moves it to ready, so it is no longer done", () => {
    const graph = graphOf(2, [[2, 1]]);
    graph.apply({ type: "finish", key: k(1) });
    graph.apply({ type: "close", key: k(1), closedAs: "completed" });
    graph.apply({ type: "reopen", key: k(1) });
    expect(graph.node(k(1))?.taskState).toBe("ready");
    expect(graph.readiness(k(2)).kind).toBe("waiting");
  });

  it("keeps one edge per pair with the strongest source", () => {
    const graph = graphOf(2, []);
    graph.setEdges(k(2), "body", [k(1)]);
    graph.setEdges(k(2), "sub-issue", [k(1)]);
    expect(graph.edgesOf(k(2)).blockers).toEqual([{ dependent: k(2), blocker: k(1), source: "sub-issue" }]);
    graph.setEdges(k(2), "native", [k(1)]);
    expect(graph.edgesOf(k(1)).dependents).toEqual([{ dependent: k(2), blocker: k(1), source: "native" }]);
    graph.setEdges(k(2), "native", []);
    graph.setEdges(k(2), "sub-issue", []);
    expect(graph.edgesOf(k(2)).blockers).toEqual([{ dependent: k(2), blocker: k(1), source: "body" }]);
    graph.setEdges(k(2), "body", []);
    expect(graph.readiness(k(2)).kind).toBe("ready");
    expect(graph.edges()).toEqual([]);
  });

  it("reports only the readiness that changed since the last call", () => {
    const graph = graphOf(3, [[2, 1]]);
    expect(graph.readinessChanges()).toHaveLength(3);
    expect(graph.readinessChanges()).toEqual([]);
    graph.apply({ type: "start", key: k(1) });
    expect(graph.readinessChanges()).toEqual([]);
    graph.apply({ type: "finish", key: k(1) });
    expect(graph.readinessChanges()).toEqual([{ key: k(2), readiness: { kind: "ready" } }]);
  });

  it("treats a removed node as a missing blocker", () => {
    const graph = graphOf(2, [[2, 1]]);
    graph.apply({ type: "finish", key: k(1) });
    graph.removeNode(k(1));
    expect(graph.readiness(k(2))).toEqual({
      kind: "waiting",
      on: [{ blocker: k(1), why: "missing", source: "native" }],
    });
  });
});

describe("cycles", () => {
  const cycleOf = (graph: TaskGraph, n: number): Readiness => graph.readiness(k(n));

  it("reports a 2-cycle on both members", () => {
    const graph = graphOf(2, [
      [1, 2],
      [2, 1],
    ]);
    const expected = { kind: "cycle", cycle: [k(1), k(2), k(1)] };
    expect(cycleOf(graph, 1)).toEqual(expected);
    expect(cycleOf(graph, 2)).toEqual(expected);
    expect(graph.cycles()).toEqual([[k(1), k(2), k(1)]]);
  });

  it("reports a 3-cycle on its members and plain waiting on its tail", () => {
    // 4 waits on 1, which is in 1 → 2 → 3 → 1.
    const graph = graphOf(4, [
      [1, 2],
      [2, 3],
      [3, 1],
      [4, 1],
    ]);
    const cycle = [k(1), k(2), k(3), k(1)];
    for (const n of [1, 2, 3]) expect(cycleOf(graph, n)).toEqual({ kind: "cycle", cycle });
    expect(graph.readiness(k(4))).toEqual({
      kind: "waiting",
      on: [{ blocker: k(1), why: "open", source: "native" }],
    });
    expect(graph.cycles()).toEqual([cycle]);
  });

  it("reports a self-loop", () => {
    const graph = graphOf(1, [[1, 1]]);
    expect(cycleOf(graph, 1)).toEqual({ kind: "cycle", cycle: [k(1), k(1)] });
  });

  it("frees every member when the cycle is broken", () => {
    const graph = graphOf(3, [
      [1, 2],
      [2, 3],
      [3, 1],
    ]);
    graph.readinessChanges();
    const affected = graph.apply({ type: "unlink", dependent: k(1), blocker: k(2), source: "native" });
    expect([...affected].sort()).toEqual([k(1), k(2), k(3)]);
    expect(kinds(graph, 3)).toEqual({ 1: "ready", 2: "waiting", 3: "waiting" });
    expect(graph.cycles()).toEqual([]);
    expect(graph.readinessChanges().map((change) => change.key)).toHaveLength(3);
  });

  it("frees a cycle when one member is done", () => {
    const graph = graphOf(2, [
      [1, 2],
      [2, 1],
    ]);
    graph.apply({ type: "close", key: k(2), closedAs: "completed" });
    expect(graph.readiness(k(1)).kind).toBe("ready");
    graph.apply({ type: "reopen", key: k(2) });
    expect(graph.readiness(k(1)).kind).toBe("cycle");
  });

  it("finds a cycle closed through a long path, and splits a figure eight correctly", () => {
    // 1 → 2 → 3 → 1 and 3 → 4 → 5 → 3 share 3.
    const graph = graphOf(5, [
      [1, 2],
      [2, 3],
      [3, 4],
      [4, 5],
      [5, 3],
    ]);
    expect(kinds(graph, 5)).toEqual({ 1: "waiting", 2: "waiting", 3: "cycle", 4: "cycle", 5: "cycle" });
    graph.link(k(3), k(1), "body");
    expect(new Set(Object.values(kinds(graph, 5)))).toEqual(new Set(["cycle"]));
    expect(graph.readiness(k(1))).toEqual({ kind: "cycle", cycle: [k(1), k(2), k(3), k(1)] });
    expect(graph.readiness(k(4))).toEqual({ kind: "cycle", cycle: [k(3), k(4), k(5), k(3)] });
    graph.unlink(k(5), k(3), "native");
    expect(kinds(graph, 5)).toEqual({ 1: "cycle", 2: "cycle", 3: "cycle", 4: "waiting", 5: "ready" });
  });

  it("matches a rebuild after changes", () => {
    const graph = graphOf(4, [
      [1, 2],
      [2, 3],
      [3, 1],
      [4, 3],
    ]);
    graph.apply({ type: "finish", key: k(3) });
    const rebuilt = TaskGraph.rebuild(graph.nodes(), graph.edges());
    for (let n = 1; n <= 4; n++) expect(rebuilt.readiness(k(n))).toEqual(graph.readiness(k(n)));
  });

  it("handles a 10,000-long chain closed into one cycle without recursion", () => {
    const n = 10_000;
    const nodes = Array.from({ length: n }, (_, i) => newNode(k(i + 1)));
    const edges = nodes.map((node, i) => ({
      dependent: node.key,
      blocker: k(((i + 1) % n) + 1),
      source: "native" as const,
    }));
    const graph = TaskGraph.rebuild(nodes, edges);
    expect(graph.inCycle(k(1))).toBe(true);
    graph.unlink(k(n), k(1), "native");
    expect(graph.inCycle(k(1))).toBe(false);
    graph.link(k(n), k(1), "native");
    expect(graph.inCycle(k(5000))).toBe(true);
  });
});
