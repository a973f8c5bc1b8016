import { describe, expect, it } from "vitest";
import { assertTransition, IllegalTransitionError } from "../../../src/db/transition.ts";
import { TASK_STATES } from "../../../src/graph/model.ts";
import { canTransition } from "../../../src/graph/transitions.ts";

describe("assertTransition", () => {
  it("lets through every move the graph's rules allow, and staying put", () => {
    for (const from of TASK_STATES) {
      expect(() => assertTransition(from, from)).not.toThrow();
      for (const to of TASK_STATES.filter((to) => canTransition(from, to)))
        expect(() => assertTransition(from, to)).not.toThrow();
    }
  });

  it("refuses a move the rules do not allow, naming both states", () => {
    expect(() => assertTransition("done", "running")).toThrow(
      new IllegalTransitionError("a task cannot move from done to running"),
    );
    expect(() => assertTransition("waiting", "review")).toThrow(IllegalTransitionError);
  });
});
