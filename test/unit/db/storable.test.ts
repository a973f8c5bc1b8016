import { describe, expect, it } from "vitest";
import { storableJson, storableText } from "../../../src/db/storable.ts";

describe("storableText", () => {
  it("turns NUL into U+FFFD and leaves everything else", () => {
    expect(storableText("a\u0000b")).toBe("a\uFFFDb");
    expect(storableText("plain ünïcode 🎉")).toBe("plain ünïcode 🎉");
  });
});

describe("storableJson", () => {
  it("replaces the escapes PostgreSQL refuses, keeping pairs and escaped backslashes", () => {
    const value = {
      nul: "a\u0000b",
      lone: "x\ud800y",
      low: "\udc00",
      pair: "🎉",
      text: "a literal \\u0000 stays",
      quote: 'say "hi"\n',
    };
    const stored = JSON.parse(storableJson(JSON.stringify(value)));
    expect(stored).toEqual({
      nul: "a\uFFFDb",
      lone: "x\uFFFDy",
      low: "\uFFFD",
      pair: "🎉",
      text: "a literal \\u0000 stays",
      quote: 'say "hi"\n',
    });
  });
});
