import { describe, expect, it } from "vitest";
import { checkBacklog, creationOrder, priorityLevel, readPriority } from "../../../src/graph/backlog.ts";
import { backlogItem } from "../../helpers/backlog.ts";

const item = backlogItem;

describe("a backlog's priorities", () => {
  it("reads 1–10 and the named ones, and says what is wrong with anything else", () => {
    expect(readPriority(undefined)).toEqual({ ok: true, priority: null });
    expect(readPriority(3)).toEqual({ ok: true, priority: 3 });
    expect(readPriority("High")).toEqual({ ok: true, priority: 7 });
    expect(readPriority("critical")).toEqual({ ok: true, priority: 10 });
    expect(readPriority(11)).toMatchObject({ ok: false, problem: expect.stringContaining("1–10") });
    expect(readPriority(2.5)).toMatchObject({ ok: false });
    expect(readPriority("urgent")).toMatchObject({
      ok: false,
      problem: 'priority "urgent" is not one of critical, high, normal, low or a number 1–10',
    });
  });

  it("puts each number on the nearest label the scheduler reads", () => {
    expect([10, 9, 8, 7, 6, 5, 4, 3, 2, 1].map(priorityLevel)).toEqual([
      "critical",
      "critical",
      "high",
      "high",
      "high",
      "normal",
      "normal",
      "low",
      "low",
      "low",
    ]);
  });
});

describe("checking a backlog as a graph", () => {
  it("takes epics holding stories holding tasks, with blockers across them", () => {
    const items = [
      item("E1", { kind: "epic" }),
      item("S1", { kind: "story", parent: "E1" }),
      item("T1", { parent: "S1" }),
      item("T2", { parent: "E1", blockedBy: ["T1", "S1"] }),
    ];
    expect(checkBacklog(items)).toEqual([]);
  });

  it("names every problem with its line: duplicates, unknown parents and blockers, parents of the wrong kind", () => {
    const problems = checkBacklog([
      item("T1", { line: 1 }),
      item("T1", { line: 2 }),
      item("T2", { line: 3, parent: "S9", blockedBy: ["T7", "T2"] }),
      item("S1", { kind: "story", line: 4, parent: "T1" }),
      item("E1", { kind: "epic", line: 5, parent: "S1" }),
    ]);
    expect(problems).toEqual([
      { id: "T1", line: 2, problem: "id T1 is used twice (first on line 1)" },
      { id: "T2", line: 3, problem: "T2 belongs to S9, which is not in the backlog" },
      { id: "T2", line: 3, problem: "T2 is blocked by T7, which is not in the backlog" },
      { id: "T2", line: 3, problem: "T2 is blocked by itself" },
      { id: "S1", line: 4, problem: "story S1 cannot belong to task T1" },
      { id: "E1", line: 5, problem: "epic E1 cannot belong to S1: epics have no parent" },
    ]);
  });

  it("reports a cycle once, in the order its edges run", () => {
    const problems = checkBacklog([
      item("A", { line: 1, blockedBy: ["B"] }),
      item("B", { line: 2, blockedBy: ["C", "A"] }),
      item("C", { line: 3, blockedBy: ["B"] }),
      item("D", { line: 4, blockedBy: ["A"] }),
    ]);
    expect(problems).toHaveLength(1);
    // On the line of the member it is written from, so the line and the text agree.
    expect(problems[0]).toEqual({ id: "A", line: 1, problem: "cycle: A → B → A" });
  });
});

describe("the order issues are made in", () => {
  it("puts parents and blockers before what needs them, keeping the file's order otherwise", () => {
    const order = creationOrder([
      item("T2", { parent: "S1", blockedBy: ["T1"] }),
      item("T3"),
      item("S1", { kind: "story", parent: "E1" }),
      item("T1", { parent: "S1" }),
      item("E1", { kind: "epic" }),
    ]).map((entry) => entry.id);
    expect(order).toEqual(["E1", "S1", "T1", "T2", "T3"]);
  });
});
