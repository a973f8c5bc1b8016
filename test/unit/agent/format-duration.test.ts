import { describe, expect, it } from "vitest";
import { formatDuration } from "../../../src/agent/format-duration.ts";

describe("formatDuration", () => {
  it.each([
    [0, "0ms"],
    [850, "850ms"],
    [45_000, "45s"],
    [59_600, "1m"],
    [65_000, "1m 05s"],
    [30 * 60_000, "30m"],
    [60 * 60_000, "1h"],
    [(2 * 60 + 3) * 60_000 + 20_000, "2h 03m"],
    [-5, "0s"],
  ])("formats %d ms as %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
