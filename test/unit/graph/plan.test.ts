import { describe, expect, it } from "vitest";
import type { BacklogItem } from "../../../src/graph/backlog.ts";
import { readBacklogJsonl } from "../../../src/graph/backlog-jsonl.ts";
import {
  MAX_PLAN_ITEMS,
  parsePlan,
  planJsonl,
  proposalPrefix,
  withIdPrefix,
} from "../../../src/graph/plan.ts";

const item = (over: Record<string, unknown> = {}) => ({
  id: "T1",
  kind: "task",
  title: "Write it",
  description: "A file",
  priority: 5,
  parent: null,
  blocked_by: [],
  ...over,
});
const block = (json: unknown, info = "drover-plan") =>
  `Here it is.\n\n\`\`\`${info}\n${JSON.stringify(json)}\n\`\`\`\n`;
const problems = (text: string) => {
  const parsed = parsePlan(text);
  if (parsed.ok) throw new Error("parsed");
  return parsed.problems;
};

describe("parsePlan", () => {
  it("reads items into the backlog model, the last block winning", () => {
    const text = `${block([item({ id: "old" })])}\nThen:\n${block([
      item({ id: "E1", kind: "epic", title: "Epic", priority: "high", description: "two\n  lines" }),
      item({ id: "T1", parent: "E1" }),
      item({ id: "T2", parent: "E1", blocked_by: ["T1", "T1"], priority: null }),
    ])}`;
    const parsed = parsePlan(text);
    expect(parsed).toEqual({
      ok: true,
      items: [
        {
          id: "E1",
          kind: "epic",
          title: "Epic",
          description: "two lines",
          priority: 7,
          parent: null,
          blockedBy: [],
          line: null,
        },
        {
          id: "T1",
          kind: "task",
          title: "Write it",
          description: "A file",
          priority: 5,
          parent: "E1",
          blockedBy: [],
          line: null,
        },
        {
          id: "T2",
          kind: "task",
          title: "Write it",
          description: "A file",
          priority: null,
          parent: "E1",
          blockedBy: ["T1"],
          line: null,
        },
      ],
    });
  });

  it("takes a block cut off before its closing fence, and leaves out optional fields", () => {
    const parsed = parsePlan('```drover-plan\n[{"id": "T1", "kind": "task", "title": "Only"}]');
    expect(parsed).toMatchObject({
      ok: true,
      items: [{ id: "T1", description: "", priority: null, blockedBy: [] }],
    });
  });

  it("names each way the block itself is wrong", () => {
    expect(problems("no block here, just `drover-plan` in prose")).toEqual([
      "no ```drover-plan block found in the agent's output",
    ]);
    expect(problems("```drover-plan\n\n```")).toEqual(["the drover-plan block is empty"]);
    expect(problems("```drover-plan\n[{]\n```")[0]).toMatch(/^the drover-plan block is not valid JSON: /);
    expect(problems(block({ items: [] }))).toEqual(["the drover-plan block must hold a JSON array of items"]);
    expect(problems(block([]))).toEqual(["the drover-plan block holds no items"]);
    const many = Array.from({ length: MAX_PLAN_ITEMS + 1 }, (_, i) => item({ id: `T${i}` }));
    expect(problems(block(many))).toEqual([
      `the plan has ${MAX_PLAN_ITEMS + 1} items; Drover takes up to ${MAX_PLAN_ITEMS}`,
    ]);
  });

  it("names every field that is wrong, on every item", () => {
    expect(
      problems(
        block([
          "T1",
          item({ id: "bad id!", kind: "chore", title: "", extra: 1 }),
          item({ id: "T3", description: 4, priority: 11, parent: 3, blocked_by: "T1" }),
          item({ id: "T4", title: "x".repeat(201), description: "y".repeat(301) }),
        ]),
      ),
    ).toEqual([
      "item 1 is not a JSON object",
      'item 2 (bad id!): unknown field "extra"',
      'item 2 (bad id!): id must be 1–40 letters, digits, ".", "_" or "-" (got "bad id!")',
      'item 2 (bad id!): kind must be one of epic, story, task (got "chore")',
      "item 2 (bad id!): title must be a non-empty string",
      "item 3 (T3): description must be a string (got 4)",
      "item 3 (T3): priority 11 must be a whole number 1–10 or a name (critical, high, normal, low)",
      "item 3 (T3): parent must be an id or null (got 3)",
      'item 3 (T3): blocked_by must be a list of ids (got "T1")',
      "item 4 (T4): title is 201 characters; up to 200",
      "item 4 (T4): description is 301 characters; one line of up to 300",
    ]);
  });

  it("checks the graph: dangling references, bad parents, duplicates and cycles in order", () => {
    expect(
      problems(
        block([
          item({ id: "E1", kind: "epic", parent: "S1" }),
          item({ id: "S1", kind: "story", parent: "T9" }),
          item({ id: "T1", blocked_by: ["T2"] }),
          item({ id: "T2", blocked_by: ["T1", "gone"] }),
          item({ id: "T2" }),
          item({ id: "T3", parent: "T1" }),
        ]),
      ),
    ).toEqual([
      "id T2 is used twice",
      "epic E1 cannot belong to S1: epics have no parent",
      "S1 belongs to T9, which is not in the backlog",
      "T2 is blocked by gone, which is not in the backlog",
      "task T3 cannot belong to task T1",
      "cycle: T1 → T2 → T1",
    ]);
  });

  it("lists at most 20 problems and counts the rest", () => {
    const bad = Array.from({ length: 25 }, (_, i) => item({ id: `T${i}`, kind: "chore" }));
    const listed = problems(block(bad));
    expect(listed).toHaveLength(21);
    expect(listed.at(-1)).toBe("and 5 more");
  });
});

describe("withIdPrefix", () => {
  it("gives every id, parent and blocker the spec issue's and proposal's prefix", () => {
    const parsed = parsePlan(
      block([
        item({ id: "E1", kind: "epic" }),
        item({ id: "T1", parent: "E1", blocked_by: [] }),
        item({ id: "T2", blocked_by: ["T1"] }),
      ]),
    );
    if (!parsed.ok) throw new Error("not parsed");
    expect(
      withIdPrefix(parsed.items, proposalPrefix(12, 3)).map(({ id, parent, blockedBy }) => ({
        id,
        parent,
        blockedBy,
      })),
    ).toEqual([
      { id: "spec12v3-E1", parent: null, blockedBy: [] },
      { id: "spec12v3-T1", parent: "spec12v3-E1", blockedBy: [] },
      { id: "spec12v3-T2", parent: null, blockedBy: ["spec12v3-T1"] },
    ]);
  });
});

describe("planJsonl", () => {
  it("writes the plan as import-jsonl reads it back, parents by their kind", () => {
    const parsed = parsePlan(
      block([
        item({ id: "E1", kind: "epic", priority: 7 }),
        item({ id: "S1", kind: "story", parent: "E1" }),
        item({ id: "T1", parent: "S1", blocked_by: [] }),
        item({ id: "T2", parent: "E1", blocked_by: ["T1"] }),
      ]),
    );
    if (!parsed.ok) throw new Error("not parsed");
    const items = withIdPrefix(parsed.items, "spec-ab12-");
    const read = readBacklogJsonl(planJsonl(items));
    if (!read.ok) throw new Error(read.problems.join("\n"));
    const shape = ({ line: _line, ...rest }: BacklogItem) => rest;
    expect(read.items.map(shape)).toEqual(items.map(shape));
  });
});
