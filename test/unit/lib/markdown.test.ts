import { describe, expect, it } from "vitest";
import { lastFencedBlock } from "../../../src/lib/markdown.ts";

describe("lastFencedBlock", () => {
  it("takes the last block opened with the tag on a line of its own", () => {
    const text = "```plan\nfirst\n```\nthen\n  ````plan  \nsecond\n  ````\n```json\nother\n```\n";
    expect(lastFencedBlock(text, "plan")).toBe("second\n");
  });

  it("opens nothing on a mention in prose, a longer tag, or another tag", () => {
    expect(lastFencedBlock("I wrote a ```plan block", "plan")).toBeNull();
    expect(lastFencedBlock("```planned\nx\n```", "plan")).toBeNull();
    expect(lastFencedBlock("```json\nx\n```", "plan")).toBeNull();
  });

  it("reads a block never closed to the end, and CRLF lines", () => {
    expect(lastFencedBlock("```plan\n[1, 2", "plan")).toBe("[1, 2");
    expect(lastFencedBlock("```plan\r\n[1]\r\n```\r\n", "plan")).toBe("[1]\r\n");
  });
});
