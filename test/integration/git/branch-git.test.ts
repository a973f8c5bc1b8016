import os from "node:os";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isSafeRefName, taskBranch } from "../../../src/git/branch.ts";
import { runGit } from "../../../src/git/run-git.ts";

async function gitAccepts(name: string): Promise<boolean> {
  try {
    await runGit(["check-ref-format", "--branch", name], { cwd: os.tmpdir() });
    return true;
  } catch {
    return false;
  }
}

describe("branch names agree with git check-ref-format --branch", () => {
  it("accepts every task branch", async () => {
    const samples = fc.sample(
      fc.tuple(fc.integer({ min: 1, max: 10 ** 6 }), fc.string({ unit: "binary", maxLength: 200 })),
      { numRuns: 40, seed: 42 },
    );
    for (const [n, title] of samples) {
      const branch = taskBranch(n, title);
      expect(await gitAccepts(branch), branch).toBe(true);
    }
  });

  it("decides like git on hostile names", async () => {
    const alphabet = [
      "a",
      "b",
      ".",
      "/",
      "-",
      "@",
      "{",
      "}",
      "~",
      "^",
      ":",
      " ",
      "*",
      "[",
      "\\",
      "?",
      "\t",
      "\u007f",
      "é",
      "l",
      "o",
      "c",
      "k",
    ];
    const names = fc.sample(
      fc
        .array(fc.constantFrom(...alphabet), { minLength: 1, maxLength: 8 })
        .map((chars) => chars.join(""))
        // git's --branch expands "@" to the current branch; isSafeRefName refuses it on purpose.
        .filter((name) => name !== "@"),
      { numRuns: 150, seed: 7 },
    );
    const extra = ["HEAD", "a.lock", "x/.y", "a..b", "a@{1}", "-x", "a/", "/a", "a//b", "ok/name", "v1.0"];
    for (const name of [...names, ...extra]) {
      expect(isSafeRefName(name), JSON.stringify(name)).toBe(await gitAccepts(name));
    }
  });
});
