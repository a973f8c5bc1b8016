import { describe, expect, it } from "vitest";
import { issueKey, newNode, type IssueNode } from "../../../src/graph/model.ts";
import { compareReady, orderReady, priorityFromLabels } from "../../../src/graph/order.ts";

const k = (n: number) => issueKey("o/r", n);
const keys = (nodes: IssueNode[]) => nodes.map((node) => node.key);

describe("ready order", () => {
  it("takes priority first, then critical path, then age, then key", () => {
    const nodes = [
      newNode(k(1), { priority: 2, createdAt: 1 }),
      newNode(k(2), { priority: 1, createdAt: 9 }),
      newNode(k(3), { priority: 2, createdAt: 5 }),
      newNode(k(4), { priority: 2, createdAt: 0 }),
      newNode(k(5), { priority: 2, createdAt: 0 }),
    ];
    const cp = new Map([
      [k(1), 10],
      [k(2), 1],
      [k(3), 50],
      [k(4), 10],
      [k(5), 10],
    ]);
    expect(keys([...nodes].sort((a, b) => compareReady(a, b, cp)))).toEqual([k(2), k(3), k(4), k(5), k(1)]);
  });

  it("runs siblings of one parent in sub-issue order when all else is equal", () => {
    const parent = k(100);
    const a = newNode(k(1), { parent, subOrder: 2, createdAt: 1 });
    const b = newNode(k(2), { parent, subOrder: 1, createdAt: 2 });
    const other = newNode(k(3), { parent: k(200), subOrder: 0, createdAt: 3 });
    const cp = new Map<string, number>();
    expect(compareReady(a, b, cp)).toBeGreaterThan(0);
    expect(compareReady(a, other, cp)).toBeLessThan(0);
  });

  it("orders consistently when a non-sibling's age falls between two siblings", () => {
    const parent = k(100);
    const nodes = [
      newNode(k(1), { parent, subOrder: 2, createdAt: 1 }),
      newNode(k(3), { createdAt: 2 }),
      newNode(k(2), { parent, subOrder: 1, createdAt: 3 }),
    ];
    const cp = new Map<string, number>();
    expect(keys(orderReady(nodes, cp))).toEqual([k(2), k(3), k(1)]);
    expect(keys(orderReady([...nodes].reverse(), cp))).toEqual([k(2), k(3), k(1)]);
  });
});

describe("priority labels", () => {
  it.each([
    [["priority: critical"], 0],
    [["Priority:High"], 1],
    [["PRIORITY :  normal"], 2],
    [["priority: low"], 3],
    [["P0"], 0],
    [["p1"], 1],
    [["P3", "bug"], 3],
    [["bug"], 2],
    [[], 2],
    [["priority: low", "P1", "priority: high"], 1],
    [["P2", "priority: critical"], 0],
    [["P4", "priority: urgent", "xp1"], 2],
  ] as const)("%j → %i", (labels, expected) => {
    expect(priorityFromLabels(labels)).toBe(expected);
  });
});
