import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isSafeRefName, slugify, taskBranch } from "../../../src/git/branch.ts";

describe("slugify", () => {
  it.each([
    ["Fix the login bug", "fix-the-login-bug"],
    ["  --Crème brûlée: v2.0!!  ", "creme-brulee-v2-0"],
    ["Ünïcödé ＦＵＬＬ width", "unicode-full-width"],
    ["日本語のタイトル", "task"],
    ["", "task"],
    ["../../etc/passwd", "etc-passwd"],
  ])("%j → %j", (title, slug) => {
    expect(slugify(title)).toBe(slug);
  });

  it("cuts at maxLength without a trailing dash", () => {
    expect(slugify("a".repeat(39) + " b c", 40)).toBe("a".repeat(39));
    expect(slugify("one two three", 7)).toBe("one-two");
  });

  it("always yields lowercase words joined by single dashes, within maxLength", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", maxLength: 120 }),
        fc.integer({ min: 1, max: 60 }),
        (title, max) => {
          const slug = slugify(title, max);
          expect(slug).toMatch(/^[a-z0-9]+(?:-[a-z0-9]+)*$/);
          expect(slug.length).toBeLessThanOrEqual(Math.max(max, 4));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("taskBranch", () => {
  it("names the branch after the issue", () => {
    expect(taskBranch(12, "Fix the login bug")).toBe("drover/12-fix-the-login-bug");
    expect(taskBranch(7, "")).toBe("drover/7-task");
  });

  it.each([0, -1, 1.5, Number.NaN])("refuses issue number %s", (n) => {
    expect(() => taskBranch(n, "x")).toThrow(RangeError);
  });

  it("is always a safe ref name", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.string({ unit: "binary", maxLength: 300 }),
        (n, title) => {
          expect(isSafeRefName(taskBranch(n, title))).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe("isSafeRefName", () => {
  it.each(["main", "drover/12-fix", "feature/a.b", "release-1.0", "a@b", "héllo", "refs/heads/x"])(
    "accepts %j",
    (name) => {
      expect(isSafeRefName(name)).toBe(true);
    },
  );

  it.each([
    "",
    "@",
    "HEAD",
    "-rf",
    "--upload-pack=x",
    ".hidden",
    "a/.b",
    "a..b",
    "a/",
    "/a",
    "a//b",
    "a.",
    "a.lock",
    "a.lock/b",
    "a@{1}",
    "a b",
    "a\tb",
    "a\u007fb",
    "a~1",
    "a^",
    "a:b",
    "a?",
    "a*",
    "a[b",
    "a\\b",
  ])("rejects %j", (name) => {
    expect(isSafeRefName(name)).toBe(false);
  });
});
