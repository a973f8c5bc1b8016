import { describe, expect, it } from "vitest";
import { parseDuration, parseSize } from "../../../src/config/units.ts";

describe("parseDuration", () => {
  it.each([
    ["90s", 90_000],
    ["30m", 1_800_000],
    ["2h", 7_200_000],
    ["1500ms", 1500],
    ["1.5h", 5_400_000],
    [" 30 M ", 1_800_000],
    ["45", 45_000],
    [90, 90_000],
    [0.5, 500],
  ] as const)("reads %j as %i ms", (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each(["", "soon", "0", "0s", "-5s", "1d", "1e3", "30 minutes", "m", "1h30m"])("refuses %j", (input) => {
    expect(parseDuration(input)).toBeNull();
  });

  it.each([0, -5, Number.NaN, Number.POSITIVE_INFINITY])("refuses the number %d", (input) => {
    expect(parseDuration(input)).toBeNull();
  });
});

describe("parseSize", () => {
  it.each([
    ["250KB", 250_000],
    ["1MB", 1_000_000],
    ["1MiB", 1_048_576],
    ["4KiB", 4096],
    ["1.5kb", 1500],
    [" 2 MiB ", 2_097_152],
    ["4096", 4096],
    ["10b", 10],
    [4096, 4096],
  ] as const)("reads %j as %i bytes", (input, bytes) => {
    expect(parseSize(input)).toBe(bytes);
  });

  it.each(["", "big", "0", "0KB", "-1KB", "0.1b", "1GB", "1 K", "KB"])("refuses %j", (input) => {
    expect(parseSize(input)).toBeNull();
  });

  it.each([0, -1, 1.5, Number.NaN])("refuses the number %d (sizes are whole bytes)", (input) => {
    expect(parseSize(input)).toBeNull();
  });
});
