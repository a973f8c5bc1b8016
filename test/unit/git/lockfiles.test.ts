import { describe, expect, it } from "vitest";
import { isLockfile, setupKeyOf } from "../../../src/git/lockfiles.ts";

describe("isLockfile", () => {
  it.each([
    "package-lock.json",
    "web/package-lock.json",
    "npm-shrinkwrap.json",
    "pnpm-lock.yaml",
    "yarn.lock",
    "bun.lockb",
    "Cargo.lock",
    "go.sum",
    "poetry.lock",
    "uv.lock",
    "Pipfile.lock",
    "requirements.txt",
    "requirements-dev.txt",
    "requirements/base.txt",
    "Gemfile.lock",
    "composer.lock",
  ])("counts %s", (file) => {
    expect(isLockfile(file)).toBe(true);
  });

  it.each(["package.json", "src/index.ts", "README.md", "go.mod", "docs/requirements.md", "yarn.lock.bak"])(
    "does not count %s",
    (file) => {
      expect(isLockfile(file)).toBe(false);
    },
  );
});

describe("setupKeyOf", () => {
  const locks = new Map([
    ["package-lock.json", "1".repeat(40)],
    ["api/uv.lock", "2".repeat(40)],
  ]);

  it("is the same for the same command and lockfiles, in any order", () => {
    const reordered = new Map([...locks].reverse());
    expect(setupKeyOf("npm ci", reordered)).toBe(setupKeyOf("npm ci", locks));
  });

  it("changes with a lockfile's content, a lockfile added or removed, or the command", () => {
    const key = setupKeyOf("npm ci", locks);
    expect(setupKeyOf("npm ci", new Map([...locks, ["api/uv.lock", "3".repeat(40)]]))).not.toBe(key);
    expect(setupKeyOf("npm ci", new Map([...locks, ["yarn.lock", "4".repeat(40)]]))).not.toBe(key);
    expect(setupKeyOf("npm ci", new Map([["package-lock.json", "1".repeat(40)]]))).not.toBe(key);
    expect(setupKeyOf("npm install", locks)).not.toBe(key);
  });
});
