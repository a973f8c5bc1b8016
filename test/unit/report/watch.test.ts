import { describe, expect, it } from "vitest";
import { readAtLine, unreadableLine, watchFrame } from "../../../src/report/watch.ts";

describe("status --watch on a terminal", () => {
  it("draws each frame over the last from the top, clearing each line's rest and what is below", () => {
    const frame = watchFrame("Parked: nothing\nGitHub budget: none\n", "Read 09:12:04 UTC");
    expect(frame.startsWith("\u001b[H")).toBe(true);
    expect(frame).not.toContain("\u001b[2J");
    expect(frame).toBe(
      "\u001b[HParked: nothing\u001b[K\nGitHub budget: none\u001b[K\n\u001b[K\nRead 09:12:04 UTC\u001b[K\n\u001b[J",
    );
  });

  it("says when it read, and while PostgreSQL does not answer, since when the report is old", () => {
    const at = new Date("2026-12-06T09:12:04.500Z");
    expect(readAtLine(at, 2)).toBe("Read 09:12:04 UTC; read again every 2 s; Ctrl-C stops");
    expect(unreadableLine(at, "connection refused", 2, new Date("2026-12-06T09:11:58Z"))).toBe(
      "09:12:04 UTC: could not read PostgreSQL at DATABASE_URL (connection refused); the report above is from 09:11:58 UTC; trying again every 2 s",
    );
    expect(unreadableLine(at, "x", 1, null)).toContain("nothing read yet");
  });
});
