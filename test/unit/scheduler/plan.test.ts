import { describe, expect, it } from "vitest";
import type { TaskState } from "../../../src/db/schema.ts";
import { planPass, type PlanIssue, type PlanTask } from "../../../src/scheduler/plan.ts";
import { buildView, type ViewRows } from "../../../src/scheduler/plan-view.ts";

const REPO = "octo/widgets";
const synced = new Date("2026-01-01T00:00:00Z");

function issue(number: number, fields: Partial<PlanIssue> = {}): PlanIssue {
  return {
    key: `${REPO}#${number}`,
    repoFullName: REPO,
    number,
    state: "open",
    closedAs: null,
    labels: [],
    parentKey: null,
    subOrder: null,
    readable: true,
    unreadableReason: null,
    githubCreatedAt: new Date(Date.UTC(2026, 0, number)),
    linksSyncedAt: synced,
    ...fields,
  };
}

let nextId = 1;
function task(number: number, state: TaskState, fields: Partial<PlanTask> = {}): PlanTask {
  return {
    id: nextId++,
    repoId: 1,
    repoFullName: REPO,
    installationId: 7,
    issueNumber: number,
    state,
    cycle: null,
    stateReason: null,
    maxWorkers: 2,
    createdAt: new Date(Date.UTC(2026, 0, number)),
    branch: `drover/${number}-task`,
    stack: false,
    passed: false,
    ...fields,
  };
}

function plan(input: Partial<ViewRows> & Pick<ViewRows, "tasks"> & { capacity?: number; cursor?: number }) {
  const { capacity = 4, cursor = 0, ...rows } = input;
  // A view built from scratch, every task looked at: what a process's first pass does.
  const view = buildView({ issues: [], edges: [], durations: new Map(), ...rows });
  return planPass(view, view.tasks.keys(), { capacity, cursor });
}

const link = (dependent: number, blocker: number, source: "native" | "body" | "sub-issue" = "native") => ({
  dependent: `${REPO}#${dependent}`,
  blocker: `${REPO}#${blocker}`,
  source,
});

describe("planPass", () => {
  it("starts the blocker of a chain and keeps its dependent waiting, saying on what and from where", () => {
    const a = task(1, "ready");
    const b = task(2, "ready");
    const result = plan({ issues: [issue(1), issue(2)], edges: [link(2, 1)], tasks: [a, b] });
    expect(result.start).toEqual([a.id]);
    expect(result.readiness).toEqual([
      {
        id: b.id,
        from: "ready",
        to: "waiting",
        reason: "waiting for #1 (from a blocked-by link) to be done",
      },
    ]);
  });

  it("readies a waiting task once its blocker's task is done, and starts it", () => {
    const a = task(1, "done");
    const b = task(2, "waiting", { stateReason: "waiting for #1 (from a blocked-by link) to be done" });
    const result = plan({ issues: [issue(1), issue(2)], edges: [link(2, 1)], tasks: [a, b] });
    expect(result.readiness).toEqual([{ id: b.id, from: "waiting", to: "ready", reason: null }]);
    expect(result.start).toEqual([b.id]);
  });

  it("keeps dependents of a blocker closed as not planned waiting, and says a person decides", () => {
    const b = task(2, "ready");
    const result = plan({
      issues: [issue(1, { state: "closed", closedAs: "not_planned" }), issue(2)],
      edges: [link(2, 1, "body")],
      tasks: [b],
    });
    expect(result.start).toEqual([]);
    expect(result.readiness[0]?.reason).toMatch(
      /#1 \(from the issue text\), which was closed as not planned/,
    );
  });

  it("names an unreadable blocker in another repository with the reason it cannot be read", () => {
    const b = task(2, "ready");
    const result = plan({
      issues: [
        issue(2),
        {
          ...issue(45),
          key: "other/place#45",
          repoFullName: "other/place",
          readable: false,
          unreadableReason: "Drover cannot read it (HTTP 404)",
        },
      ],
      edges: [{ dependent: `${REPO}#2`, blocker: "other/place#45", source: "body" }],
      tasks: [b],
    });
    expect(result.readiness[0]?.reason).toContain(
      "other/place#45 (from the issue text), which Drover cannot read it",
    );
  });

  it("does not start a task whose links have not been read yet", () => {
    const a = task(1, "ready");
    const result = plan({ issues: [issue(1, { linksSyncedAt: null })], tasks: [a] });
    expect(result.start).toEqual([]);
    expect(result.readiness).toEqual([
      { id: a.id, from: "ready", to: "waiting", reason: "reading its links from GitHub" },
    ]);
  });

  it("reports a cycle on every member, runs none of them, and withdraws it once broken", () => {
    const a = task(4, "ready");
    const b = task(7, "ready");
    const cyclic = plan({ issues: [issue(4), issue(7)], edges: [link(4, 7), link(7, 4)], tasks: [a, b] });
    expect(cyclic.start).toEqual([]);
    expect(cyclic.cycles).toEqual([
      { id: a.id, cycle: "#4 → #7 → #4" },
      { id: b.id, cycle: "#4 → #7 → #4" },
    ]);
    const broken = plan({
      issues: [issue(4), issue(7)],
      edges: [link(7, 4)],
      tasks: [
        { ...a, cycle: "#4 → #7 → #4" },
        { ...b, cycle: "#4 → #7 → #4" },
      ],
    });
    expect(broken.cycles).toEqual([
      { id: a.id, cycle: null },
      { id: b.id, cycle: null },
    ]);
    expect(broken.start).toEqual([a.id]);
  });

  it("respects max_workers per repository and the pool's capacity, counting tasks already running", () => {
    const running = task(1, "running");
    const ready = [task(2, "ready"), task(3, "ready"), task(4, "ready")];
    const all = [running, ...ready];
    const issues = all.map((t) => issue(t.issueNumber));
    expect(plan({ issues, tasks: all, capacity: 10 }).start).toHaveLength(1); // max_workers 2, one running
    expect(plan({ issues, tasks: all, capacity: 1 }).start).toHaveLength(0); // the pool is full
  });

  it("orders by priority label, then by the length of the work waiting on a task", () => {
    const lone = task(1, "ready");
    const head = task(2, "ready");
    const tail = task(3, "waiting");
    const urgent = task(4, "ready");
    const result = plan({
      issues: [issue(1), issue(2), issue(3), issue(4, { labels: ["priority: high"] })],
      edges: [link(3, 2)],
      tasks: [lone, head, tail, urgent],
      capacity: 3,
      cursor: 0,
    });
    // max_workers 2: the high-priority task first, then the head of the longer chain.
    expect(result.start).toEqual([urgent.id, head.id]);
  });

  it("shares the pool fairly: a busy repository does not starve another", () => {
    const busy = Array.from({ length: 6 }, (_, i) => task(i + 1, "ready", { maxWorkers: 10 }));
    const quiet = task(1, "ready", { repoFullName: "octo/quiet", repoId: 2, maxWorkers: 10 });
    const issues = [
      ...busy.map((t) => issue(t.issueNumber)),
      { ...issue(1), key: "octo/quiet#1", repoFullName: "octo/quiet" },
    ];
    const result = plan({ issues, tasks: [...busy, quiet], capacity: 2 });
    expect(result.start).toContain(quiet.id);
  });
});

describe("planPass: a blocker reopened", () => {
  it("sends a queued (not yet started) dependent back to waiting and frees its slot", () => {
    // #1 is an issue, not a task: it was closed, and a person reopened it.
    const queued = task(2, "queued");
    const other = task(3, "ready");
    const result = plan({
      issues: [issue(1), issue(2), issue(3)],
      edges: [link(2, 1)],
      tasks: [queued, other],
      capacity: 1,
    });
    expect(result.readiness).toContainEqual({
      id: queued.id,
      from: "queued",
      to: "waiting",
      reason: "waiting for #1 (from a blocked-by link) to be done",
    });
    expect(result.start).toEqual([other.id]);
  });
});

describe("planPass: a repository's max_workers", () => {
  it("comes from its newest task's config, whatever order the tasks are read in", () => {
    // #1 was triggered under max_workers 1; drover.yml now says 3, and #2 and #3 were triggered under it.
    const old = task(1, "ready", { maxWorkers: 1 });
    const newer = [task(2, "ready", { maxWorkers: 3 }), task(3, "ready", { maxWorkers: 3 })];
    const issues = [issue(1), issue(2), issue(3)];
    for (const order of [
      [old, ...newer],
      [...newer, old],
    ]) {
      expect(plan({ issues, tasks: order, capacity: 10 }).start).toHaveLength(3);
    }
  });
});

describe("planPass with tasks people steered", () => {
  it("never starts a paused task, and leaves it paused", () => {
    const paused = task(1, "paused", { stateReason: "paused by @mona" });
    const result = plan({ issues: [issue(1)], edges: [], tasks: [paused] });
    expect(result.start).toEqual([]);
    expect(result.readiness).toEqual([]);
  });

  it("holds the dependents of a paused task: they wait for it, and none starts", () => {
    const paused = task(1, "paused", { stateReason: "paused by @mona" });
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

  it("releases the dependents of a task resolved by hand (`/drover resolve`) although its issue is open", () => {
    const resolved = task(1, "done", { stateReason: "resolved by @mona" });
    const dependent = task(2, "waiting", {
      stateReason: "waiting for #1 (from a blocked-by link) to be done",
    });
    const result = plan({ issues: [issue(1), issue(2)], edges: [link(2, 1)], tasks: [resolved, dependent] });
    expect(result.readiness).toEqual([{ id: dependent.id, from: "waiting", to: "ready", reason: null }]);
    expect(result.start).toEqual([dependent.id]);
  });

  describe("stacked work (drover.yml `stack: true`)", () => {
    const waitingFor1 = "waiting for #1 (from a blocked-by link) to be done";
    const onto1 = (blocker: PlanTask) => ({ branch: "drover/1-task", taskId: blocker.id, issueNumber: 1 });

    it("starts a task on the branch of its one blocker in review whose checks passed", () => {
      const blocker = task(1, "review", { passed: true });
      const dependent = task(2, "waiting", { stack: true, stateReason: waitingFor1 });
      const result = plan({ issues: [issue(1), issue(2)], edges: [link(2, 1)], tasks: [blocker, dependent] });
      expect(result.readiness).toEqual([
        {
          id: dependent.id,
          from: "waiting",
          to: "ready",
          reason: expect.stringMatching(/^stacked on #1: starts on its branch `drover\/1-task`/),
          onto: onto1(blocker),
        },
      ]);
      expect(result.start).toEqual([dependent.id]);
    });

    it("keeps the same task waiting when its drover.yml does not stack (the default)", () => {
      const blocker = task(1, "review", { passed: true });
      const dependent = task(2, "waiting", { stateReason: waitingFor1 });
      const result = plan({ issues: [issue(1), issue(2)], edges: [link(2, 1)], tasks: [blocker, dependent] });
      expect(result.readiness).toEqual([]);
      expect(result.start).toEqual([]);
    });

    it("waits while the blocker's latest attempt did not pass, or the blocker is not in review", () => {
      for (const blocker of [task(1, "review", { passed: false }), task(1, "running", { passed: true })]) {
        const dependent = task(2, "ready", { stack: true });
        const result = plan({
          issues: [issue(1), issue(2)],
          edges: [link(2, 1)],
          tasks: [blocker, dependent],
        });
        expect(result.readiness).toEqual([
          { id: dependent.id, from: "ready", to: "waiting", reason: waitingFor1 },
        ]);
        expect(result.start).toEqual([]);
      }
    });

    it("waits when two blockers are in review: one branch cannot hold both", () => {
      const first = task(1, "review", { passed: true });
      const second = task(3, "review", { passed: true });
      const dependent = task(2, "waiting", { stack: true });
      const result = plan({
        issues: [issue(1), issue(2), issue(3)],
        edges: [link(2, 1), link(2, 3)],
        tasks: [first, second, dependent],
      });
      expect(result.readiness).toEqual([
        {
          id: dependent.id,
          from: "waiting",
          to: "waiting",
          reason: `${waitingFor1}; #3 (from a blocked-by link) to be done`,
        },
      ]);
      expect(result.start).toEqual([]);
    });

    it("stacks on the one blocker in review when every other blocker is done", () => {
      const done = task(3, "done");
      const blocker = task(1, "review", { passed: true });
      const dependent = task(2, "waiting", { stack: true });
      const result = plan({
        issues: [issue(1), issue(2), issue(3)],
        edges: [link(2, 1), link(2, 3)],
        tasks: [done, blocker, dependent],
      });
      expect(result.readiness).toMatchObject([{ id: dependent.id, to: "ready", onto: onto1(blocker) }]);
    });

    it("drops the stack from a ready task once its blocker is done: it starts from the base branch", () => {
      const blocker = task(1, "done");
      const dependent = task(2, "ready", { stack: true, stateReason: "stacked on #1: starts on its branch" });
      const result = plan({ issues: [issue(1), issue(2)], edges: [link(2, 1)], tasks: [blocker, dependent] });
      expect(result.readiness).toEqual([{ id: dependent.id, from: "ready", to: "ready", reason: null }]);
      expect(result.start).toEqual([dependent.id]);
    });

    it("does not stack on a blocker in another repository", () => {
      const blocker = task(1, "review", { passed: true, repoId: 2, repoFullName: "octo/other" });
      const dependent = task(2, "waiting", { stack: true });
      const result = plan({
        issues: [issue(1, { key: "octo/other#1", repoFullName: "octo/other" }), issue(2)],
        edges: [{ dependent: `${REPO}#2`, blocker: "octo/other#1", source: "native" }],
        tasks: [blocker, dependent],
      });
      expect(result.readiness).toMatchObject([{ id: dependent.id, to: "waiting" }]);
      expect(result.start).toEqual([]);
    });
  });
});
