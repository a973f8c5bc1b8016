import { describe, expect, it } from "vitest";
import { renderSummary, type DemoTask } from "../../../src/demo/progress.ts";

const task = (number: number, pr: number | null, verdict: string | null, title: string): DemoTask => ({
  number,
  title,
  state: pr === null ? "failed" : "done",
  pr,
  prUrl: null,
  verdict,
  attempts: 1,
});

describe("renderSummary", () => {
  it("lines its columns up whatever the width of the numbers", () => {
    const text = renderSummary(
      [task(1, 9, "pass", "Count words"), task(12, 112, "pass", "Reading time"), task(3, null, null, "Tags")],
      { tasks: 3, done: 2, startedAt: "", endedAt: "", makespanSeconds: 8.3, ok: false },
    );
    const rows = text.split("\n").filter((line) => line.startsWith("  #"));
    expect(rows).toHaveLength(3);
    for (const column of ["PR ", "verdict ", "attempts "])
      expect(new Set(rows.map((row) => row.indexOf(column))).size).toBe(1);
    expect(text).toContain("2 of 3 tasks done after 8.3 s.");
  });
});
