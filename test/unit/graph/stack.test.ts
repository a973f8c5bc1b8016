import { describe, expect, it } from "vitest";
import { TaskGraph } from "../../../src/graph/graph.ts";
import { newNode } from "../../../src/graph/model.ts";
import { stackOnto } from "../../../src/graph/stack.ts";

const key = (n: number) => `octo/widgets#${n}`;
const edge = (dependent: number, blocker: number) => ({
  dependent: key(dependent),
  blocker: key(blocker),
  source: "native" as const,
});

function graphOf(states: Record<number, "review" | "done" | "running">, edges: ReturnType<typeof edge>[]) {
  const nodes = Object.entries(states).map(([n, taskState]) => newNode(key(Number(n)), { taskState }));
  return TaskGraph.rebuild([...nodes, newNode(key(9))], edges);
}

describe("stackOnto", () => {
  const anyBlocker = () => true;

  it("names the one open blocker the caller can stack on", () => {
    const graph = graphOf({ 1: "review", 2: "done" }, [edge(9, 1), edge(9, 2)]);
    expect(stackOnto(graph.readiness(key(9)), anyBlocker)).toBe(key(1));
    expect(stackOnto(graph.readiness(key(9)), () => false)).toBeNull();
  });

  it("never stacks with two open blockers, a ready task, a missing blocker, or a cycle", () => {
    const two = graphOf({ 1: "review", 2: "review" }, [edge(9, 1), edge(9, 2)]);
    expect(stackOnto(two.readiness(key(9)), anyBlocker)).toBeNull();
    const ready = graphOf({ 1: "done" }, [edge(9, 1)]);
    expect(stackOnto(ready.readiness(key(9)), anyBlocker)).toBeNull();
    const missing = graphOf({}, [edge(9, 5)]);
    expect(stackOnto(missing.readiness(key(9)), anyBlocker)).toBeNull();
    const cycle = graphOf({ 1: "review" }, [edge(9, 1), edge(1, 9)]);
    expect(stackOnto(cycle.readiness(key(9)), anyBlocker)).toBeNull();
  });
});
