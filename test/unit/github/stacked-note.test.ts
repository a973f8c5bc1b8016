import { describe, expect, it } from "vitest";
import { stackedNote } from "../../../src/github/pulls.ts";

describe("stackedNote", () => {
  it("names the blocker a stacked pull request is built on, and says where it goes once that merges", () => {
    const note = stackedNote({ issueNumber: 12, branch: "drover/12-add-a-changelog" });
    expect(note).toMatch(/^\n\nStacked on #12 \(branch `drover\/12-add-a-changelog`\)/);
    expect(note).toContain("goes into the base branch when #12's pull request merges");
  });

  it("says nothing for a pull request that is not stacked", () => {
    expect(stackedNote(null)).toBe("");
    expect(stackedNote(undefined)).toBe("");
  });
});
