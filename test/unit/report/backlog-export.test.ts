import { describe, expect, it } from "vitest";
import type { ExportIssue, ExportRows, ExportTask } from "../../../src/db/export.ts";
import { readBacklogJsonl } from "../../../src/graph/backlog-jsonl.ts";
import {
  exportJson,
  exportJsonl,
  exportRecords,
  priorityOfLabels,
} from "../../../src/report/backlog-export.ts";

const issue = (number: number, fields: Partial<ExportIssue> = {}): ExportIssue => ({
  number,
  title: `Issue ${number}`,
  state: "open",
  closedAs: null,
  labels: [],
  parentKey: null,
  subOrder: null,
  ...fields,
});
const at = new Date("2026-12-01T10:00:00Z");
const task = (issueNumber: number, fields: Partial<ExportTask> = {}): ExportTask => ({
  issueNumber,
  state: "done",
  stateReason: "pull request merged",
  createdBy: "ann",
  modifiedBy: "bob",
  completedBy: "cat",
  approvedBy: null,
  prNumber: 40,
  createdAt: at,
  doneAt: at,
  attempts: [],
  hints: [],
  commands: [],
  ...fields,
});

/** Epic #1 → story #2 → tasks #3, #4 (#4 blocked by #3 and by an issue elsewhere), task #5 straight in the epic. */
const ROWS: ExportRows = {
  repoFullName: "Acme/App",
  issues: [
    issue(5, { parentKey: "acme/app#1", labels: ["P0"] }),
    issue(1, { title: "Epic" }),
    issue(2, { title: "Story", parentKey: "acme/app#1", labels: ["priority: high"] }),
    issue(3, {
      parentKey: "acme/app#2",
      labels: ["drover", "Priority: Low"],
      state: "closed",
      closedAs: "completed",
    }),
    issue(4, { parentKey: "acme/app#2", labels: ["drover"], state: "closed", closedAs: "not_planned" }),
  ],
  edges: [
    { dependent: "acme/app#4", blocker: "acme/app#3" },
    { dependent: "acme/app#4", blocker: "acme/lib#9" },
  ],
  tasks: [
    task(3, {
      attempts: [
        {
          number: 1,
          state: "finished",
          triggeredBy: "ann",
          startedAt: at,
          finishedAt: at,
          conclusion: "success",
          reason: null,
          verdict: { status: "pass", summary: "Done" },
          checks: [{ command: "npm test", outcome: "passed", exitCode: 0, durationMs: 1200 }],
          agent: "claude",
          agentOutcome: "exited",
          durationMs: 60_000,
          costUsd: "0.12",
          turns: 7,
          diffStat: "1 file changed",
          headSha: "abc123",
        },
      ],
      hints: [{ kind: "hint", author: "bob", body: "Mind the nulls", path: null, line: null, at }],
      commands: [{ command: "hint", author: "bob", outcome: "applied", at }],
    }),
  ],
  events: [
    { issue: 3, type: "task.started", actor: "ann", attempt: 1, at },
    { issue: null, type: "pr.merged", actor: "cat", attempt: null, at },
  ],
};

describe("the export's records", () => {
  it("are the import's format: ids owner/name#N, kinds from the tree, parents, blockers, priorities; parents first", () => {
    const { records, problems } = exportRecords(ROWS);
    expect(problems).toEqual([]);
    expect(records.map(({ history: _history, ...graph }) => graph)).toEqual([
      { id: "Acme/App#1", type: "epic", title: "Epic", state: "open" },
      {
        id: "Acme/App#2",
        type: "story",
        title: "Story",
        priority: "high",
        epic_id: "Acme/App#1",
        state: "open",
      },
      {
        id: "Acme/App#3",
        type: "task",
        title: "Issue 3",
        priority: "low",
        story_id: "Acme/App#2",
        state: "closed",
      },
      {
        id: "Acme/App#4",
        type: "task",
        title: "Issue 4",
        story_id: "Acme/App#2",
        blocked_by: ["Acme/App#3"],
        state: "not_planned",
        drover: false,
      },
      {
        id: "Acme/App#5",
        type: "task",
        title: "Issue 5",
        priority: "critical",
        epic_id: "Acme/App#1",
        state: "open",
        drover: false,
      },
    ]);
    const read = readBacklogJsonl(exportJsonl(records));
    expect(read.ok).toBe(true);
  });

  it("call a leaf a Drover task only when Drover has a task for it, and import back with states and that flag", () => {
    // #4 and #5 are leaves Drover never ran (a blocker filed by hand, say): plain issues, whatever their labels.
    const { records } = exportRecords(ROWS);
    const read = readBacklogJsonl(exportJsonl(records));
    if (!read.ok) throw new Error(read.problems.join("\n"));
    expect(read.items.map(({ id, kind, state, drover }) => ({ id, kind, state, drover }))).toEqual([
      { id: "Acme/App#1", kind: "epic", state: "open", drover: undefined },
      { id: "Acme/App#2", kind: "story", state: "open", drover: undefined },
      { id: "Acme/App#3", kind: "task", state: "closed", drover: undefined },
      { id: "Acme/App#4", kind: "task", state: "not_planned", drover: false },
      { id: "Acme/App#5", kind: "task", state: "open", drover: false },
    ]);
  });

  it("carry each task's history: who created, steered and completed it, attempts, hints, commands, events", () => {
    const { records } = exportRecords(ROWS);
    const [three, four] = [records[2]!, records[3]!];
    expect(three.history).toEqual({
      task: {
        state: "done",
        state_reason: "pull request merged",
        created_by: "ann",
        modified_by: "bob",
        completed_by: "cat",
        approved_by: null,
        pull_request: 40,
        created_at: "2026-12-01T10:00:00.000Z",
        done_at: "2026-12-01T10:00:00.000Z",
        attempts: [
          {
            number: 1,
            state: "finished",
            triggered_by: "ann",
            started_at: "2026-12-01T10:00:00.000Z",
            finished_at: "2026-12-01T10:00:00.000Z",
            conclusion: "success",
            reason: null,
            verdict: { status: "pass", summary: "Done" },
            checks: [{ command: "npm test", outcome: "passed", exitCode: 0, durationMs: 1200 }],
            agent: "claude",
            agent_outcome: "exited",
            duration_ms: 60_000,
            cost_usd: "0.12",
            turns: 7,
            diff_stat: "1 file changed",
            head_sha: "abc123",
          },
        ],
        hints: [{ kind: "hint", author: "bob", body: "Mind the nulls", at: "2026-12-01T10:00:00.000Z" }],
        commands: [{ command: "hint", author: "bob", outcome: "applied", at: "2026-12-01T10:00:00.000Z" }],
      },
      events: [{ type: "task.started", actor: "ann", attempt: 1, at: "2026-12-01T10:00:00.000Z" }],
    });
    // A blocker in another repository is kept for the record, not as a link the import would refuse.
    expect(four.history).toEqual({ blocked_by_elsewhere: ["acme/lib#9"] });
  });

  it("say what the import would refuse: sub-issues deeper than epic → story → task, cycles", () => {
    const deep: ExportRows = {
      ...ROWS,
      issues: [
        issue(1),
        issue(2, { parentKey: "acme/app#1" }),
        issue(3, { parentKey: "acme/app#2" }),
        issue(4, { parentKey: "acme/app#3" }),
      ],
      edges: [],
      tasks: [],
      events: [],
    };
    expect(exportRecords(deep).problems).toEqual(["story Acme/App#3 cannot belong to story Acme/App#2"]);
    const cycle: ExportRows = {
      ...deep,
      issues: [issue(1), issue(2)],
      edges: [
        { dependent: "acme/app#1", blocker: "acme/app#2" },
        { dependent: "acme/app#2", blocker: "acme/app#1" },
      ],
    };
    expect(exportRecords(cycle).problems).toEqual(["cycle: Acme/App#1 → Acme/App#2 → Acme/App#1"]);
  });

  it("write as JSON Lines, or as one JSON document", () => {
    const { records } = exportRecords(ROWS);
    const jsonl = exportJsonl(records);
    expect(jsonl.split("\n")).toHaveLength(records.length + 1);
    expect(JSON.parse(exportJson("Acme/App", records, at))).toEqual({
      repository: "Acme/App",
      exported_at: "2026-12-01T10:00:00.000Z",
      items: JSON.parse(`[${jsonl.trim().split("\n").join(",")}]`),
    });
  });
});

describe("a priority from labels", () => {
  it("reads `priority: <level>` in any case and P0–P3, else none", () => {
    expect(priorityOfLabels(["bug", "Priority : Critical"])).toBe("critical");
    expect(priorityOfLabels(["p1"])).toBe("high");
    expect(priorityOfLabels(["P3"])).toBe("low");
    expect(priorityOfLabels(["P4", "priority: urgent"])).toBeNull();
  });

  it("takes the most urgent of several, as the scheduler does", () => {
    expect(priorityOfLabels(["P3", "priority: high"])).toBe("high");
    expect(priorityOfLabels(["priority: low", "P0"])).toBe("critical");
  });
});
