import { describe, expect, it } from "vitest";
import { normaliseType, parseEventQuery, sseFrame } from "../../../src/web/event-query.ts";

const parse = (query: string, headers: { accept?: string; lastEventId?: string } = {}) =>
  parseEventQuery(new URL(`http://drover.test/drover/api/events?${query}`), headers);

describe("parseEventQuery", () => {
  it("reads types (short, full, families), repositories, a story and a start time", () => {
    expect(
      parse("type=failed,pr&type=task.review&repo=octo/a,octo/b&story=octo/a%237&since=2026-12-06T09:00:00Z"),
    ).toEqual({
      filter: {
        types: ["task.failed", "pr", "task.review"],
        repos: ["octo/a", "octo/b"],
        story: "octo/a#7",
        since: new Date("2026-12-06T09:00:00Z"),
      },
      afterSeq: 0,
      follow: true,
      format: "ndjson",
    });
  });

  it("follows from now without a cursor or start, and resumes after Last-Event-ID over `after`", () => {
    expect(parse("")).toMatchObject({ afterSeq: null, follow: true });
    expect(parse("follow=0")).toMatchObject({ afterSeq: 0, follow: false });
    expect(parse("after=12", { lastEventId: "40" })).toMatchObject({ afterSeq: 40 });
    expect(parse("after=12")).toMatchObject({ afterSeq: 12 });
  });

  it("speaks server-sent events when asked by Accept or format", () => {
    expect(parse("", { accept: "text/event-stream" })).toMatchObject({ format: "sse" });
    expect(parse("format=sse")).toMatchObject({ format: "sse" });
    expect(parse("format=ndjson", { accept: "text/event-stream" })).toMatchObject({ format: "ndjson" });
  });

  it("takes a story number only with one repository", () => {
    expect(parse("repo=octo/a&story=7")).toMatchObject({ filter: { story: "octo/a#7" } });
    expect(parse("story=7")).toEqual({
      error: expect.stringContaining("story: a story number needs exactly one repo"),
    });
  });

  it("says which parameter is wrong and what it takes", () => {
    expect(parse("type=exploded")).toEqual({
      error: expect.stringMatching(/^type: unknown event type "exploded"; use one of task.ready/),
    });
    expect(parse("repo=nope")).toEqual({ error: 'repo: "nope" is not a repository; use owner/name' });
    expect(parse("since=yesterday")).toEqual({
      error: expect.stringContaining('since: "yesterday" is not a time'),
    });
    expect(parse("", { lastEventId: "abc" })).toEqual({
      error: expect.stringContaining('after: "abc" is not an event id'),
    });
    expect(parse("follow=maybe")).toEqual({ error: 'follow: "maybe" must be 1 or 0' });
    expect(parse("format=xml")).toEqual({ error: 'format: "xml" must be sse or ndjson' });
  });
});

describe("event types and frames", () => {
  it("expands short names and keeps families", () => {
    expect(normaliseType("completed")).toBe("task.completed");
    expect(normaliseType("PR.merged")).toBe("pr.merged");
    expect(normaliseType("task")).toBe("task");
    expect(normaliseType("merged")).toBeUndefined();
  });

  it("gives each server-sent event its seq as id, so EventSource resumes from it", () => {
    const frame = sseFrame({
      seq: 42,
      type: "task.failed",
      at: "2026-12-06T09:00:00.000Z",
      repo: "octo/a",
      issue: 3,
      story: null,
      attempt: 2,
      actor: null,
      data: { reason: "line one\nline two" },
    });
    expect(frame.startsWith("id: 42\ndata: {")).toBe(true);
    expect(frame.endsWith("\n\n")).toBe(true);
    // A newline in the data stays escaped inside the JSON: one data line.
    expect(frame.split("\n").filter((line) => line.startsWith("data:"))).toHaveLength(1);
  });
});
