import { describe, expect, it } from "vitest";
import type { DroverEvent } from "../../../src/db/events.ts";
import { eventDetail, eventJson, eventLine } from "../../../src/report/event-line.ts";

const event = (fields: Partial<DroverEvent> = {}): DroverEvent => ({
  seq: 7,
  type: "task.failed",
  at: "2026-12-06T07:01:02.345Z",
  repo: "acme/app",
  issue: 12,
  story: "acme/app#3",
  attempt: 2,
  actor: "mae",
  data: { reason: "checks failed: npm test" },
  ...fields,
});

describe("an event on a terminal", () => {
  it("shows time, type, task, story, attempt, who and why on one line", () => {
    expect(eventLine(event())).toBe(
      "2026-12-06 07:01:02Z  task.failed      acme/app#12  story acme/app#3  attempt 2  @mae  checks failed: npm test\n",
    );
  });

  it("leaves out what the event does not have", () => {
    expect(
      eventLine(event({ type: "pr.merged", story: null, attempt: null, actor: null, data: { pr: 40 } })),
    ).toBe("2026-12-06 07:01:02Z  pr.merged        acme/app#12  PR #40\n");
    expect(
      eventLine(event({ repo: null, issue: null, story: null, attempt: null, actor: null, data: {} })),
    ).toBe("2026-12-06 07:01:02Z  task.failed      -\n");
  });

  it("prints a person's words on one line, without escape codes, cut to fit", () => {
    const line = eventLine(
      event({ type: "task.hinted", data: { hint: "use\nthe \u001b[31mcache\u001b[0m" } }),
    );
    expect(line).toContain("hint: use the [31mcache[0m");
    expect(line).not.toContain("\u001b");
    expect(line.split("\n")).toHaveLength(2);
    expect(eventDetail({ reason: "x".repeat(500) }).length).toBe(160);
  });

  it("names a pull request, a new base and the next try", () => {
    expect(eventDetail({ pr: 9, base: "main", nextAttemptAt: "2026-12-06T08:00:00Z" })).toBe(
      "PR #9  base main  next try 2026-12-06T08:00:00Z",
    );
    expect(eventDetail({ command: "retry", note: "flaky" })).toBe("note: flaky  command: retry");
  });
});

describe("an event for a program", () => {
  it("is one line of JSON with every field", () => {
    const line = eventJson(event());
    expect(line.endsWith("\n")).toBe(true);
    expect(JSON.parse(line)).toEqual(event());
  });
});
