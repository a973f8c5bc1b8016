import { describe, expect, it } from "vitest";
import { holdsListedCopy } from "../../../jobs/reconcile.ts";

const at = (iso: string) => new Date(iso);
const row = {
  githubUpdatedAt: at("2026-12-06T10:00:05Z"),
  state: "open",
  title: "Add a changelog",
  labels: ["drover", "docs"],
  milestone: null,
};
const listed = {
  state: "open" as const,
  title: "Add a changelog",
  labels: ["docs", "drover"],
  milestone: null,
};

describe("reconcile: whether the row holds the listed change", () => {
  it("holds an older or same-second copy that says the same", () => {
    expect(holdsListedCopy(row, listed, at("2026-12-06T10:00:04Z"))).toBe(true);
    expect(holdsListedCopy(row, listed, at("2026-12-06T10:00:05Z"))).toBe(true);
  });

  it("does not hold a newer copy, or none at all", () => {
    expect(holdsListedCopy(row, listed, at("2026-12-06T10:00:06Z"))).toBe(false);
    expect(holdsListedCopy({ ...row, githubUpdatedAt: null }, listed, at("2026-12-06T10:00:04Z"))).toBe(
      false,
    );
  });

  // GitHub's times have whole seconds: a label taken off in the second of the copy recorded (just after
  // Drover's own status comment) lists with the same time, and must not be taken for the copy recorded.
  it.each([
    ["a label taken off", { labels: ["docs"] }],
    ["closed", { state: "closed" as const }],
    ["retitled", { title: "Add a CHANGELOG" }],
    ["given a milestone", { milestone: "v2" }],
  ])("does not hold a same-second copy %s", (_, change) => {
    expect(holdsListedCopy(row, { ...listed, ...change }, at("2026-12-06T10:00:05Z"))).toBe(false);
  });
});
