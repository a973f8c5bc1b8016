import { describe, expect, it } from "vitest";
import { renderDeadLetters, renderRetry, type ParkedRow } from "../../../src/report/dead-letters.ts";

function parked(fields: Partial<ParkedRow> = {}): ParkedRow {
  return {
    jobId: "start-d1",
    jobName: "start-task",
    deliveryId: "d1",
    reason: 'value "4294967296" is out of range for type integer',
    attempts: 5,
    failures: 1,
    firstFailedAt: new Date("2026-12-05T00:10:03.250Z"),
    lastFailedAt: new Date("2026-12-05T00:10:03.250Z"),
    repoFullName: "acme/notes",
    issueNumber: null,
    ...fields,
  };
}

describe("drover status: parked work", () => {
  it("says so when nothing is parked", () => {
    expect(renderDeadLetters([])).toBe("Parked: nothing (no work failed for good).\n");
  });

  it("shows what failed for good, why, when, and the command that runs it again", () => {
    const text = renderDeadLetters([
      parked(),
      parked({
        jobId: "publish-7",
        jobName: "publish",
        deliveryId: null,
        reason:
          "GitHub refused to create the pull request in acme/notes (422: Validation Failed): fix it\nstack…",
        attempts: 16,
        failures: 2,
        lastFailedAt: new Date("2026-12-05T01:00:00Z"),
        issueNumber: 12,
      }),
      parked({
        jobId: "reconcile-0",
        jobName: "reconcile",
        deliveryId: null,
        repoFullName: null,
        attempts: 1,
      }),
    ]);
    expect(text).toBe(
      [
        "Parked: 3 jobs failed for good and will not run again until retried:",
        "  start-task start-d1 (acme/notes, delivery d1)",
        "    failed for good 2026-12-05 00:10:03 UTC after 5 tries",
        '    why: value "4294967296" is out of range for type integer',
        "    retry: drover retry --delivery d1",
        "  publish publish-7 (acme/notes#12)",
        "    failed for good 2 times, first 2026-12-05 00:10:03 UTC, last 2026-12-05 01:00:00 UTC after 16 tries",
        "    why: GitHub refused to create the pull request in acme/notes (422: Validation Failed): fix it",
        "    retry: drover retry --job publish-7",
        "  reconcile reconcile-0",
        "    failed for good 2026-12-05 00:10:03 UTC after 1 try",
        '    why: value "4294967296" is out of range for type integer',
        "    retry: drover retry --job reconcile-0",
        "",
      ].join("\n"),
    );
  });

  it("cuts a long reason to one line a terminal can show", () => {
    const line = renderDeadLetters([parked({ reason: "x".repeat(500) })]).split("\n")[3] ?? "";
    expect(line).toBe(`    why: ${"x".repeat(199)}…`);
  });
});

describe("drover retry: what it did", () => {
  it("names each job queued again and what it had failed with", () => {
    expect(
      renderRetry({
        kind: "retried",
        letters: [
          {
            letter: { jobId: "start-d1", jobName: "start-task", deliveryId: "d1", reason: "GitHub refused" },
            outcome: { kind: "queued", jobId: "start-d1" },
          },
        ],
      }),
    ).toEqual({
      text: "queued start-task start-d1 again (delivery d1); it had failed with: GitHub refused\n",
      ok: true,
    });
  });

  it("fails naming what was left parked, or that nothing by that id is", () => {
    expect(
      renderRetry({
        kind: "retried",
        letters: [
          {
            letter: { jobId: "old-1", jobName: "gone", deliveryId: null, reason: "x" },
            outcome: { kind: "refused", why: 'this version of Drover has no job "gone"' },
          },
        ],
      }),
    ).toEqual({ text: 'left gone old-1 parked: this version of Drover has no job "gone"\n', ok: false });
    expect(renderRetry({ kind: "unknown", why: "no delivery d9 is recorded" })).toEqual({
      text: "no delivery d9 is recorded; `drover status` lists what is parked\n",
      ok: false,
    });
  });
});
