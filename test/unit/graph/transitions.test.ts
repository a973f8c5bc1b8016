import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TASK_STATES, type TaskState } from "../../../src/graph/model.ts";
import {
  ACTIVE,
  ALL_STATE_LABELS,
  LEGACY_STATE_LABELS,
  STATE_LABELS,
  TRIGGERABLE,
  canTransition,
  statesLeadingTo,
} from "../../../src/graph/transitions.ts";

const anyState = fc.constantFrom(...TASK_STATES);

function reachableFrom(start: TaskState): Set<TaskState> {
  const seen = new Set<TaskState>([start]);
  const todo = [start];
  for (let state = todo.pop(); state !== undefined; state = todo.pop()) {
    for (const next of TASK_STATES) {
      if (canTransition(state, next) && !seen.has(next)) {
        seen.add(next);
        todo.push(next);
      }
    }
  }
  return seen;
}

describe("task state transitions", () => {
  it("re-opens a done task only to ready", () => {
    expect(TASK_STATES.filter((to) => canTransition("done", to))).toEqual(["ready"]);
  });

  it("lets a running task end in review, failed or blocked, or retry", () => {
    for (const to of ["review", "failed", "blocked", "retrying", "cancelled", "paused"] as const) {
      expect(canTransition("running", to), `running → ${to}`).toBe(true);
    }
  });

  it("follows the design's happy path waiting → ready → queued → running → review → done", () => {
    const path: TaskState[] = ["waiting", "ready", "queued", "running", "review", "done"];
    for (let i = 1; i < path.length; i++)
      expect(canTransition(path[i - 1]!, path[i]!), `${path[i - 1]} → ${path[i]}`).toBe(true);
  });

  it("never skips the queue: only queued work starts running", () => {
    expect(statesLeadingTo("running")).toEqual(["queued"]);
    // …and review follows a run, or a conflict that no longer is (the pull request merges cleanly again).
    expect(statesLeadingTo("review")).toEqual(["running", "conflict"]);
  });

  it("retries go back through ready (or are held by a pause)", () => {
    expect(TASK_STATES.filter((to) => canTransition("retrying", to)).sort()).toEqual([
      "cancelled",
      "done",
      "paused",
      "ready",
    ]);
  });

  it("has no self-transitions", () => {
    fc.assert(fc.property(anyState, (state) => !canTransition(state, state)));
  });

  it("statesLeadingTo(to) is exactly the states with canTransition(from, to)", () => {
    fc.assert(
      fc.property(
        anyState,
        anyState,
        (from, to) => statesLeadingTo(to).includes(from) === canTransition(from, to),
      ),
    );
  });

  it("every state can reach done and ready again (no dead ends)", () => {
    for (const state of TASK_STATES) {
      const reachable = reachableFrom(state);
      expect(reachable.has("done"), `${state} reaches done`).toBe(true);
      expect(reachable.has("ready"), `${state} reaches ready`).toBe(true);
    }
  });

  it("a person can cancel anything that is not finished", () => {
    for (const state of TASK_STATES.filter((s) => s !== "done" && s !== "cancelled")) {
      expect(canTransition(state, "cancelled"), `${state} → cancelled`).toBe(true);
    }
  });

  it("splits every state into triggerable (a label starts a fresh attempt) or active, never both", () => {
    expect([...TRIGGERABLE, ...ACTIVE].sort()).toEqual([...TASK_STATES].sort());
    expect(TRIGGERABLE.filter((s) => ACTIVE.includes(s))).toEqual([]);
    for (const state of TRIGGERABLE) expect(canTransition(state, "ready"), `${state} → ready`).toBe(true);
  });
});

describe("state labels", () => {
  it("maps every labelled state to a drover: label", () => {
    for (const [state, label] of Object.entries(STATE_LABELS)) {
      expect(TASK_STATES).toContain(state);
      expect(label, state).toMatch(/^drover:[a-z]+$/);
    }
  });

  it("labels the states that want a person's eye, and none while a task waits for or has a worker", () => {
    expect(STATE_LABELS).toEqual({
      review: "drover:review",
      blocked: "drover:blocked",
      failed: "drover:failed",
      cancelled: "drover:cancelled",
      paused: "drover:paused",
      conflict: "drover:conflict",
    });
    expect([...ALL_STATE_LABELS].sort()).toEqual([
      "drover:blocked",
      "drover:cancelled",
      "drover:conflict",
      "drover:failed",
      "drover:paused",
      "drover:review",
    ]);
    // Set by older versions: still Drover's to take off, never a state's now.
    expect(LEGACY_STATE_LABELS).toEqual(["drover:running"]);
  });
});
