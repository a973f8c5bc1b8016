import { describe, expect, it } from "vitest";
import { renderTaskReport, type ReportRow } from "../../../src/report/task-report.ts";

const REPO = "octo/widgets";
function row(number: number, fields: Partial<ReportRow> = {}): ReportRow {
  return {
    key: `${REPO}#${number}`,
    number,
    title: `Task ${number}`,
    state: "waiting",
    isTask: true,
    parent: null,
    subOrder: null,
    reason: null,
    cycle: null,
    ...fields,
  };
}

describe("drover status", () => {
  const rows = [
    row(1, { title: "Release 1.0", isTask: false, state: "open" }),
    row(2, { state: "running", parent: `${REPO}#1`, subOrder: 1 }),
    row(3, { parent: `${REPO}#1`, subOrder: 0 }),
    row(4, { cycle: "#4 → #5 → #4" }),
    row(5, { cycle: "#4 → #5 → #4" }),
    { ...row(45, { isTask: false, state: "unreadable" }), key: "other/place#45" },
  ];
  const edges = [
    { dependent: `${REPO}#3`, blocker: `${REPO}#2`, source: "native" as const },
    { dependent: `${REPO}#2`, blocker: "other/place#45", source: "body" as const },
    { dependent: `${REPO}#1`, blocker: `${REPO}#2`, source: "sub-issue" as const },
    { dependent: `${REPO}#4`, blocker: `${REPO}#5`, source: "native" as const },
    { dependent: `${REPO}#5`, blocker: `${REPO}#4`, source: "native" as const },
  ];

  it("lists the repository's tasks with states, blockers (state and source) and cycles", () => {
    const text = renderTaskReport({ repoFullName: REPO, rows, edges, tree: false });
    expect(text).toContain("octo/widgets: 4 tasks (1 running, 3 waiting)");
    expect(text).toMatch(/#2 +running +Task 2 +\[blocked by other\/place#45 \(unreadable, text\)\]/);
    expect(text).toMatch(/#3 +waiting +Task 3 +\[blocked by #2 \(running, link\)\]/);
    expect(text).toContain("cycle #4 → #5 → #4");
    expect(text).not.toContain("Release 1.0"); // not a task
  });

  it("draws stories with their sub-issues in GitHub's order in the tree view", () => {
    const text = renderTaskReport({ repoFullName: REPO, rows, edges, tree: true });
    const lines = text.split("\n");
    const story = lines.findIndex((l) => l.includes("Release 1.0"));
    expect(lines[story]).toContain("open, not a task");
    expect(lines[story + 1]).toMatch(/├─ #3 /);
    expect(lines[story + 2]).toMatch(/└─ #2 /);
  });

  it("says who created, last steered and completed each task", () => {
    const text = renderTaskReport({
      repoFullName: REPO,
      rows: [
        row(7, { state: "done", createdBy: "hubber", steeredBy: "mona", completedBy: "merger" }),
        row(8, { state: "ready", createdBy: "hubber" }),
      ],
      edges: [],
      tree: false,
    });
    expect(text).toMatch(/#7 +done +Task 7 +\(created by @hubber, steered by @mona, completed by @merger\)/);
    expect(text).toMatch(/#8 +ready +Task 8 +\(created by @hubber\)\n/);
  });

  it("says how to start when a repository has no tasks", () => {
    expect(renderTaskReport({ repoFullName: "octo/empty", rows, edges, tree: false })).toBe(
      "octo/empty: no tasks. Label an issue to start one.\n",
    );
  });
});
