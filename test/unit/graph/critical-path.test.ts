import { describe, expect, it } from "vitest";
import { criticalPaths, expectedDuration } from "../../../src/graph/critical-path.ts";
import { TaskGraph } from "../../../src/graph/graph.ts";
import { issueKey, newNode } from "../../../src/graph/model.ts";

const k = (n: number) => issueKey("o/r", n);

describe("critical paths", () => {
  // 1 blocks 2 and 3; 2 and 3 block 4. Durations 1: 5, 2: 10, 3: 30, 4: 7.
  const diamond = () =>
    TaskGraph.rebuild(
      [
        newNode(k(1), { expectedMs: 5 }),
        newNode(k(2), { expectedMs: 10 }),
        newNode(k(3), { expectedMs: 30 }),
        newNode(k(4), { expectedMs: 7 }),
      ],
      [
        { dependent: k(2), blocker: k(1), source: "native" },
        { dependent: k(3), blocker: k(1), source: "native" },
        { dependent: k(4), blocker: k(2), source: "native" },
        { dependent: k(4), blocker: k(3), source: "body" },
      ],
    );

  it("weights the longest chain of work waiting on each task", () => {
    expect(criticalPaths(diamond())).toEqual(
      new Map([
        [k(4), 7],
        [k(2), 17],
        [k(3), 37],
        [k(1), 42],
      ]),
    );
  });

  it("leaves out done tasks", () => {
    const graph = diamond();
    graph.apply({ type: "finish", key: k(3) });
    const paths = criticalPaths(graph);
    expect(paths.has(k(3))).toBe(false);
    expect(paths.get(k(1))).toBe(22);
  });

  it("counts cycle members as zero-length ends of the chain", () => {
    const graph = diamond();
    graph.link(k(4), k(5), "native");
    graph.upsertNode(newNode(k(5), { expectedMs: 100 }));
    graph.link(k(5), k(4), "native");
    const paths = criticalPaths(graph);
    expect(paths.get(k(4))).toBe(0);
    expect(paths.get(k(5))).toBe(0);
    expect(paths.get(k(1))).toBe(35);
  });
});

describe("expected duration", () => {
  it("is the median of the last ten attempts", () => {
    expect(expectedDuration([3, 1, 2])).toBe(2);
    expect(expectedDuration([4, 1, 3, 2])).toBe(2.5);
    expect(expectedDuration([1000, 1000, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])).toBe(5.5);
  });

  it("falls back to ten minutes, or the given fallback", () => {
    expect(expectedDuration([])).toBe(600_000);
    expect(expectedDuration([], 42)).toBe(42);
  });
});
