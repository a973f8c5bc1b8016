import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CriticalPaths, criticalPaths } from "../../../src/graph/critical-path.ts";
import { TaskGraph, type GraphEvent } from "../../../src/graph/graph.ts";
import { issueKey, newNode, type EdgeSource, type IssueKey } from "../../../src/graph/model.ts";

/**
 * The scheduler keeps critical paths current with `CriticalPaths.update`, told only which nodes changed
 * (and their blockers before and after, and whatever `readinessChanges` reports). After any sequence of
 * changes it must agree with computing every path from scratch.
 */

const k = (n: number) => issueKey("o/r", n);
const SOURCES: EdgeSource[] = ["native", "body", "sub-issue"];

const event = (n: number): fc.Arbitrary<GraphEvent> => {
  const key = fc.integer({ min: 1, max: n + 1 }).map(k);
  return fc.oneof(
    fc.record({
      type: fc.constant("link" as const),
      dependent: key,
      blocker: key,
      source: fc.constantFrom(...SOURCES),
    }),
    fc.record({
      type: fc.constant("unlink" as const),
      dependent: key,
      blocker: key,
      source: fc.constantFrom(...SOURCES),
    }),
    fc.record({
      type: fc.constant("close" as const),
      key,
      closedAs: fc.constantFrom("completed" as const, "not_planned" as const),
    }),
    fc.record({ type: fc.constantFrom("reopen" as const, "start" as const, "finish" as const), key }),
    fc.record({
      type: fc.constant("label" as const),
      key,
      fields: fc.record({ expectedMs: fc.integer({ min: 0, max: 100 }) }),
    }),
  );
};

const scenario = fc.integer({ min: 2, max: 30 }).chain((n) =>
  fc.record({
    n: fc.constant(n),
    expected: fc.array(fc.integer({ min: 1, max: 100 }), { minLength: n, maxLength: n }),
    edges: fc.array(fc.record({ i: fc.integer({ min: 1, max: n }), j: fc.integer({ min: 1, max: n }) }), {
      maxLength: 2 * n,
    }),
    events: fc.array(event(n), { maxLength: 80 }),
  }),
);

const blockersOf = (graph: TaskGraph, key: IssueKey) => [...graph.blockersOf(key).keys()];

describe("CriticalPaths", () => {
  it("kept current change by change, equals criticalPaths computed from scratch", () => {
    fc.assert(
      fc.property(scenario, ({ n, expected, edges, events }) => {
        const graph = TaskGraph.rebuild(
          expected.map((ms, i) => newNode(k(i + 1), { expectedMs: ms })),
          edges.map(({ i, j }) => ({ dependent: k(i), blocker: k(j), source: "native" as const })),
        );
        graph.readinessChanges();
        const paths = new CriticalPaths(graph);
        expect(paths.paths).toEqual(criticalPaths(graph));
        for (const change of events) {
          const key = "key" in change ? change.key : change.dependent;
          const moved = new Set<IssueKey>([key, ...blockersOf(graph, key)]);
          graph.apply(change);
          for (const blocker of blockersOf(graph, key)) moved.add(blocker);
          for (const { key: changed } of graph.readinessChanges()) moved.add(changed);
          paths.update(moved);
          expect(new Map(paths.paths)).toEqual(criticalPaths(graph));
        }
        return n > 0;
      }),
      { numRuns: 300 },
    );
  });

  it("a finished task has no path; the tasks waiting on it keep theirs", () => {
    const graph = TaskGraph.rebuild(
      [newNode(k(1), { taskState: "done" }), newNode(k(2)), newNode(k(3)), newNode(k(4))],
      [
        { dependent: k(2), blocker: k(1), source: "native" },
        { dependent: k(3), blocker: k(2), source: "native" },
        { dependent: k(4), blocker: k(3), source: "native" },
      ],
    );
    const paths = new CriticalPaths(graph);
    expect(paths.paths.get(k(2))).toBe(3 * 600_000);
    graph.apply({ type: "finish", key: k(2) });
    paths.update([k(2), k(1)]);
    expect(paths.paths.has(k(2))).toBe(false);
    expect(paths.paths.get(k(3))).toBe(2 * 600_000);
  });
});
