import { describe, expect, it } from "vitest";
import { readBacklogJsonl } from "../../../src/graph/backlog-jsonl.ts";

const lines = (...records: unknown[]) =>
  records.map((record) => (typeof record === "string" ? record : JSON.stringify(record))).join("\n");

describe("the JSONL backlog reader", () => {
  it("reads epics, stories and tasks with parents, priorities (numbers and names) and blockers, skipping blank lines", () => {
    const read = readBacklogJsonl(
      lines(
        { id: "EPIC-001", type: "epic", title: "Foundation", description: "The base" },
        "",
        { id: "STORY-001", type: "story", epic_id: "EPIC-001", title: "Sign-in", priority: 10 },
        "   ",
        { id: "TASK-001", type: "task", story_id: "STORY-001", title: "Form", priority: "high" },
        { id: "TASK-002", type: "Task", epic_id: "EPIC-001", title: "Docs", blocked_by: ["TASK-001"] },
      ) + "\n",
    );
    expect(read).toEqual({
      ok: true,
      items: [
        {
          id: "EPIC-001",
          kind: "epic",
          title: "Foundation",
          description: "The base",
          priority: null,
          parent: null,
          blockedBy: [],
          line: 1,
        },
        {
          id: "STORY-001",
          kind: "story",
          title: "Sign-in",
          description: "",
          priority: 10,
          parent: "EPIC-001",
          blockedBy: [],
          line: 3,
        },
        {
          id: "TASK-001",
          kind: "task",
          title: "Form",
          description: "",
          priority: 7,
          parent: "STORY-001",
          blockedBy: [],
          line: 5,
        },
        {
          id: "TASK-002",
          kind: "task",
          title: "Docs",
          description: "",
          priority: null,
          parent: "EPIC-001",
          blockedBy: ["TASK-001"],
          line: 6,
        },
      ],
    });
  });

  it("reports every bad line at once, each with its line number and reason", () => {
    const read = readBacklogJsonl(
      lines(
        "{not json",
        '["an", "array"]',
        { type: "task", title: "No id" },
        { id: "T-2", type: "task" },
        { id: "T-3", title: "No type" },
        { id: "T-4", type: "bug", title: "Unknown type" },
        { id: "T-5", type: "task", title: "Typo", blocked_on: ["T-1"], colour: "red" },
        { id: "T-6", type: "task", title: "Bad priority", priority: 11 },
        { id: "T-7", type: "task", title: "Bad name", priority: "urgent" },
        { id: "T-8", type: "task", title: "Blockers", blocked_by: "T-1" },
        { id: 9, type: "task", title: "Numeric id" },
        { id: "E-1", type: "epic", title: "Epic with a parent", epic_id: "E-0" },
        { id: "S-1", type: "story", title: "Story in a story", story_id: "S-0" },
        { id: "T-9", type: "task", title: "Two parents", story_id: "S-1", epic_id: "E-1" },
        { id: "T-10", type: "task", title: "   " },
      ),
    );
    expect(read.ok).toBe(false);
    if (read.ok) return;
    expect(read.problems).toEqual([
      expect.stringMatching(/^line 1: not valid JSON \(/),
      "line 2: a record must be a JSON object ({...})",
      'line 3: missing "id"',
      'line 4: missing "title"',
      'line 5: missing "type" (one of epic, story, task)',
      'line 6: unknown type "bug" (one of epic, story, task)',
      'line 7: unknown keys "blocked_on", "colour" (known: id, type, title, description, priority, epic_id, story_id, blocked_by, state, drover)',
      "line 8: priority 11 must be a whole number 1–10 or a name (critical, high, normal, low)",
      'line 9: priority "urgent" is not one of critical, high, normal, low or a number 1–10',
      'line 10: "blocked_by" must be a list of ids, e.g. ["TASK-001"], not "T-1"',
      'line 11: "id" must be a string, not 9',
      "line 12: an epic belongs to nothing: drop epic_id/story_id",
      "line 13: a story belongs to an epic: use epic_id, not story_id",
      "line 14: a task belongs to one parent: give story_id or epic_id, not both",
      'line 15: "title" is empty',
    ]);
  });

  it("accepts what an export writes beside the graph (state, history) and sets it aside", () => {
    const read = readBacklogJsonl(
      lines({
        id: "acme/app#3",
        type: "task",
        title: "T",
        state: "closed",
        history: { task: { state: "done" } },
      }),
    );
    expect(read).toMatchObject({ ok: true, items: [{ id: "acme/app#3", kind: "task", title: "T" }] });
  });

  it("keeps each record's state (open, closed, not_planned) and whether a task is Drover's", () => {
    const read = readBacklogJsonl(
      lines(
        { id: "A", type: "task", title: "A", state: "closed" },
        { id: "B", type: "task", title: "B", state: "not_planned", drover: false },
        { id: "C", type: "epic", title: "C", state: "open" },
        { id: "D", type: "task", title: "D", drover: true },
      ),
    );
    if (!read.ok) throw new Error(read.problems.join("\n"));
    expect(read.items.map(({ id, state, drover }) => ({ id, state, drover }))).toEqual([
      { id: "A", state: "closed", drover: undefined },
      { id: "B", state: "not_planned", drover: false },
      { id: "C", state: "open", drover: undefined },
      { id: "D", state: undefined, drover: undefined },
    ]);
  });

  it("refuses a state or a drover flag it cannot honour", () => {
    const read = readBacklogJsonl(
      lines(
        { id: "A", type: "task", title: "A", state: "done" },
        { id: "B", type: "task", title: "B", drover: "no" },
        { id: "C", type: "story", title: "C", drover: false },
      ),
    );
    expect(read).toEqual({
      ok: false,
      problems: [
        'line 1: state "done" is not one of open, closed, not_planned',
        'line 2: "drover" must be true or false, not "no"',
        'line 3: "drover" is for tasks: a story is never labelled for Drover',
      ],
    });
  });

  it("checks the graph after the lines: unknown ids, bad parents, duplicates, and each cycle named in order", () => {
    const read = readBacklogJsonl(
      lines(
        { id: "E", type: "epic", title: "E" },
        { id: "A", type: "task", title: "A", blocked_by: ["B"] },
        { id: "B", type: "task", title: "B", blocked_by: ["C"] },
        { id: "C", type: "task", title: "C", blocked_by: ["A"] },
        { id: "D", type: "task", title: "D", story_id: "NOPE", blocked_by: ["GONE"] },
        { id: "S", type: "story", title: "S", epic_id: "A" },
        { id: "A", type: "task", title: "A again" },
      ),
    );
    expect(read).toEqual({
      ok: false,
      problems: [
        "line 7: id A is used twice (first on line 2)",
        "line 5: D belongs to NOPE, which is not in the backlog",
        "line 5: D is blocked by GONE, which is not in the backlog",
        "line 6: story S cannot belong to task A",
        "line 2: cycle: A → B → C → A",
      ],
    });
  });

  it("with bad lines, names cycles and missing ids but not references to a bad line's id", () => {
    const read = readBacklogJsonl(
      lines(
        { id: "A", type: "task", title: "A", blocked_by: ["B", "X", "GONE"] },
        { id: "B", type: "task", title: "B", blocked_by: ["A"] },
        { id: "X", type: "task" },
      ),
    );
    expect(read).toEqual({
      ok: false,
      problems: [
        'line 3: missing "title"',
        "line 1: A is blocked by GONE, which is not in the backlog",
        "line 1: cycle: A → B → A",
      ],
    });
  });

  it("while a line's id cannot be read at all, leaves missing references unsaid (they may be to it)", () => {
    const read = readBacklogJsonl(
      lines({ id: "A", type: "task", title: "A", blocked_by: ["GONE"] }, "{oops"),
    );
    expect(read).toEqual({ ok: false, problems: [expect.stringMatching(/^line 2: not valid JSON/)] });
  });

  it("refuses what GitHub would refuse half-way: long titles and bodies, too many blockers or sub-issues", () => {
    const blockers = Array.from({ length: 51 }, (_, i) => ({ id: `B-${i}`, type: "task", title: `B ${i}` }));
    const children = Array.from({ length: 101 }, (_, i) => ({
      id: `C-${i}`,
      type: "task",
      title: `C ${i}`,
      epic_id: "E",
    }));
    const read = readBacklogJsonl(
      lines(
        { id: "E", type: "epic", title: "E" },
        { id: "LONG", type: "task", title: "x".repeat(257), description: "y".repeat(65_001) },
        { id: "MANY", type: "task", title: "Many", blocked_by: blockers.map((b) => b.id) },
        ...blockers,
        ...children,
      ),
    );
    expect(read).toEqual({
      ok: false,
      problems: [
        "line 2: title is 257 characters; GitHub takes at most 256",
        "line 2: description is 65001 characters; an issue body takes at most 65000 here",
        "line 3: blocked by 51 items; GitHub links an issue to at most 50 blockers",
        "line 1: E has 101 sub-items; GitHub allows at most 100 under one issue",
      ],
    });
  });

  it("refuses an empty file", () => {
    expect(readBacklogJsonl("\n\n")).toEqual({ ok: false, problems: ["the file has no records"] });
  });
});
