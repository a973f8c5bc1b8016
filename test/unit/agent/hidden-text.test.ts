import { describe, expect, it } from "vitest";
import { stripHidden } from "../../../src/agent/hidden-text.ts";

describe("stripHidden", () => {
  it("removes HTML comments, one-line and multi-line", () => {
    expect(stripHidden("a <!-- x --> b\n<!-- whole line -->\nc <!-- two\nlines --> d")).toBe("a  b\nc\n d");
  });

  it("removes everything after an unclosed comment: GitHub hides it", () => {
    expect(stripHidden("shown\n<!-- hidden\nstill hidden")).toBe("shown");
  });

  it("keeps comments inside fenced code, which GitHub shows as code", () => {
    const text = "```html\n<!-- kept -->\n```\n~~~\n<!-- kept too -->\n~~~\n<!-- gone -->";
    expect(stripHidden(text)).toBe("```html\n<!-- kept -->\n```\n~~~\n<!-- kept too -->\n~~~");
  });

  it("treats a longer fence as closed only by a fence at least as long", () => {
    expect(stripHidden("````\n```\n<!-- kept -->\n````\n<!-- gone -->")).toBe(
      "````\n```\n<!-- kept -->\n````",
    );
  });

  it("removes zero-width, bidirectional, tag and variation-selector characters, also in code", () => {
    const text =
      "a\u200Bb\u200Dc\u202Ed\u2066e\u2069f\uFEFFg\u{E0041}h\u{E0100}i\uFE0Fj\u00ADk\n```\nx\u202Ey\n```";
    expect(stripHidden(text)).toBe("abcdefghijk\n```\nxy\n```");
  });

  it("leaves ordinary text alone", () => {
    const text = "Fix `a < b` -- and <b>bold</b>!\n\n  indented\ttab  ";
    expect(stripHidden(text)).toBe(text);
  });
});
