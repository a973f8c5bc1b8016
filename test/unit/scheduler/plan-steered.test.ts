import { describe, expect, it } from "vitest";
import type { TaskState } from "../../../src/db/schema.ts";
import { planPass, type PlanIssue, type PlanTask } from "../../../src/scheduler/plan.ts";
import { buildView, type ViewRows } from "../../../src/scheduler/plan-view.ts";

/** What a scheduling pass does with tasks people steered: paused ones, and ones resolved by hand. */

const REPO = "octo/widgets";

function issue(number: number): PlanIssue {
  return {
    key: `${REPO}#${number}`,
    repoFullName: REPO,
    number,
    // Open: a paused or resolved task's issue stays open.
    state: "open",
    closedAs: null,
    labels: [],
    parentKey: null,
    subOrder: null,
    readable: true,
    unreadableReason: null,
    githubCreatedAt: new Date(Date.UTC(2026, 0, number)),
    linksSyncedAt: new Date("2026-01-01T00:00:00Z"),
  };
}

let nextId = 1;
function task(number: number, state: TaskState, stateReason: string | null = null): PlanTask {
  return {
    id: nextId++,
    repoId: 1,
    repoFullName: REPO,
    installationId: 7,
    issueNumber: number,
    state,
    cycle: null,
    stateReason,
    maxWorkers: 4,
    createdAt: new Date(Date.UTC(2026, 0, number)),
  };
}

function plan(rows: Pick<ViewRows, "tasks" | "issues" | "edges">) {
  const view = buildView({ durations: new Map(), ...rows });
  return planPass(view, view.tasks.keys(), { capacity: 4, cursor: 0 });
}

const link = (dependent: number, blocker: number) => ({
  dependent: `${REPO}#${dependent}`,
  blocker: `${REPO}#${blocker}`,
  source: "native" as const,
});

describe("planPass with steered tasks", () => {
  it("never starts a paused task, and leaves it paused", () => {
    const paused = task(1, "paused", "paused by @mona");
    const result = plan({ issues: [issue(1)], edges: [], tasks: [paused] });
    expect(result.start).toEqual([]);
    expect(result.readiness).toEqual([]);
  });

  it("holds the dependents of a paused task: they wait for it, and none starts", () => {
    const paused = task(1, "paused", "paused by @mona");
    const dependent = task(2, "ready");
    const result = plan({ issues: [issue(1), issue(2)], edges: [link(2, 1)], tasks: [paused, dependent] });
    expect(result.start).toEqual([]);
    expect(result.readiness).toEqual([
      {
        id: dependent.id,
        from: "ready",
        to: "waiting",
        reason: "waiting for #1 (from a blocked-by link) to be done",
      },
    ]);
  });

  it("releases the dependents of a task resolved by hand although its issue is still open", () => {
    const resolved = task(1, "done", "resolved by @mona");
    const dependent = task(2, "waiting", "waiting for #1 (from a blocked-by link) to be done");
    const result = plan({ issues: [issue(1), issue(2)], edges: [link(2, 1)], tasks: [resolved, dependent] });
    expect(result.readiness).toEqual([{ id: dependent.id, from: "waiting", to: "ready", reason: null }]);
    expect(result.start).toEqual([dependent.id]);
  });

  it("starts a paused task once it is resumed (ready again)", () => {
    const resumed = task(1, "ready", "resumed by @mona");
    const result = plan({ issues: [issue(1)], edges: [], tasks: [resumed] });
    expect(result.start).toEqual([resumed.id]);
  });
});
