import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DroverEnv } from "../../../src/config/env.ts";

const root = new URL("../../../", import.meta.url);
const read = (file: string) => readFileSync(new URL(file, root), "utf8");

/** Drover says "See .env.example for every variable" when one is wrong: each one it reads is there. */
describe("the variables Drover reads", () => {
  const names = Object.keys(DroverEnv.shape);

  it("are each in .env.example", () => {
    const example = read(".env.example");
    expect(names.filter((name) => !new RegExp(`^#? ?${name}=`, "m").test(example))).toEqual([]);
  });

  it("are each in the README's table of variables", () => {
    const readme = read("README.md");
    // A row's first cell names it (one row may name two: `PRIVATE_KEY` / `PRIVATE_KEY_PATH`).
    expect(names.filter((name) => !new RegExp(`^\\|[^|\\n]*\`${name}\``, "m").test(readme))).toEqual([]);
  });
});
