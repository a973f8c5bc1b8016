import { describe, expect, it } from "vitest";
import { TailBuffer } from "../../../src/agent/tail-buffer.ts";

describe("TailBuffer", () => {
  it("keeps everything under the limit", () => {
    const tail = new TailBuffer(10);
    tail.push(Buffer.from("abc"));
    tail.push(Buffer.from("def"));
    expect(tail.toString()).toBe("abcdef");
    expect(tail.dropped).toBe(0);
  });

  it("keeps only the last bytes across many chunks", () => {
    const tail = new TailBuffer(5);
    for (const part of ["abc", "def", "ghi"]) tail.push(Buffer.from(part));
    expect(tail.toString()).toBe("efghi");
    expect(tail.dropped).toBe(4);
  });

  it("keeps the end of a chunk bigger than the limit", () => {
    const tail = new TailBuffer(4);
    tail.push(Buffer.from("xy"));
    tail.push(Buffer.from("0123456789"));
    expect(tail.toString()).toBe("6789");
    expect(tail.dropped).toBe(8);
  });

  it("does not start with half a character", () => {
    const tail = new TailBuffer(4);
    tail.push(Buffer.from("aé✓")); // 1 + 2 + 3 bytes; the last 4 start inside é
    expect(tail.toString()).toBe("✓");
  });
});
