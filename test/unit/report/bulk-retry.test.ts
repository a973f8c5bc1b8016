import { describe, expect, it } from "vitest";
import { renderRetryPlan, renderRetryQueued } from "../../../src/report/bulk-retry.ts";

const failed = (number: number, fields = {}) => ({
  taskId: number,
  number,
  title: `Task ${number}`,
  reason: "attempts used up: the tests failed",
  attempts: 3,
  verdict: "fail",
  summary: null,
  since: 100 + number,
  ...fields,
});

describe("retry --failed's report", () => {
  it("lists each failed task with its attempts, last verdict and why, and counts the blocked left alone", () => {
    const text = renderRetryPlan({
      repoFullName: "octo/widgets",
      failed: [failed(4), failed(9, { attempts: 1, verdict: null, reason: null, summary: "timed\nout" })],
      blocked: 2,
      dryRun: true,
    });
    expect(text).toBe(
      [
        "octo/widgets: 2 failed tasks would be retried (nothing was changed):",
        "  #4 Task 4 (3 attempts, last verdict fail)",
        "    why: attempts used up: the tests failed",
        "  #9 Task 9 (1 attempt, no verdict)",
        "    why: timed out",
        "2 blocked tasks are left alone: the agent said they need a person (`/drover hint <what to do>` on the issue, or `/drover retry` there).",
        "",
      ].join("\n"),
    );
  });

  it("says when there is nothing to retry, and what was queued", () => {
    expect(renderRetryPlan({ repoFullName: "a/b", failed: [], blocked: 0, dryRun: false })).toBe(
      "a/b: no failed tasks; nothing to retry.\n",
    );
    expect(renderRetryPlan({ repoFullName: "a/b", failed: [failed(1)], blocked: 0, dryRun: false })).toMatch(
      /^a\/b: retrying 1 failed task:\n/,
    );
    expect(renderRetryQueued("a/b", [failed(1), failed(2)])).toContain("queued 2 retries (#1, #2)");
    expect(renderRetryQueued("a/b", [])).toBe("");
  });
});
