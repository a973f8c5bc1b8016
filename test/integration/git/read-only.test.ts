import { appendFile, mkdir, readdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  changesIn,
  closeReadOnlyCheckout,
  openReadOnlyCheckout,
  sweepCheckouts,
} from "../../../src/git/read-only.ts";
import { git, makeMirrorSandbox, type GitSandbox } from "../../helpers/git-sandbox.ts";

let box: GitSandbox;
let mirror: string;
let checkoutPath: string;
beforeEach(async () => {
  let worktree: string;
  ({ box, mirror, worktree } = await makeMirrorSandbox("ghs_SECRET123"));
  checkoutPath = `${worktree}-plan`;
});
afterEach(async () => {
  await closeReadOnlyCheckout(mirror, checkoutPath).catch(() => {});
  await box.cleanup();
});

describe("a read-only checkout for planning", () => {
  it("is the base branch's tip, detached, with no write permission anywhere", async () => {
    const checkout = await openReadOnlyCheckout({ mirror, base: "main", path: checkoutPath });
    expect(checkout.sha).toBe(await git(box.origin, "rev-parse", "main"));
    expect(await git(checkoutPath, "rev-parse", "HEAD")).toBe(checkout.sha);
    await expect(git(checkoutPath, "symbolic-ref", "-q", "HEAD")).rejects.toThrow();
    for (const file of [checkoutPath, path.join(checkoutPath, "README.md")])
      expect((await stat(file)).mode & 0o222).toBe(0);
    expect(await changesIn(checkout)).toEqual([]);
  });

  it("names what was written anyway (root ignores permissions), and leaves nothing behind when closed", async () => {
    const checkout = await openReadOnlyCheckout({ mirror, base: "main", path: checkoutPath });
    const writable = process.getuid?.() === 0;
    if (writable) {
      await appendFile(path.join(checkoutPath, "README.md"), "changed\n");
      await writeFile(path.join(checkoutPath, "new.txt"), "new\n");
      expect(await changesIn(checkout)).toEqual(["README.md", "new.txt"]);
    } else {
      await expect(writeFile(path.join(checkoutPath, "new.txt"), "new\n")).rejects.toThrow(/EACCES/);
    }
    await closeReadOnlyCheckout(mirror, checkoutPath);
    await expect(stat(checkoutPath)).rejects.toThrow(/ENOENT/);
    expect(await git(mirror, "worktree", "list", "--porcelain")).not.toContain(checkoutPath);
    // Nothing of it reached the repository: the mirror's branch is where it was, no branch was made.
    expect(await git(mirror, "rev-parse", "main")).toBe(checkout.sha);
    expect(await git(mirror, "branch", "--list")).toBe("main");
  });

  it("sweeps checkouts left by a crash, and only those old enough", async () => {
    const plans = path.join(path.dirname(checkoutPath), "plans");
    await mkdir(plans, { recursive: true });
    checkoutPath = path.join(plans, "left");
    await openReadOnlyCheckout({ mirror, base: "main", path: checkoutPath });
    expect(await sweepCheckouts(plans, 60_000)).toBe(0);
    expect(await sweepCheckouts(plans, 60_000, Date.now() + 120_000)).toBe(1);
    expect(await readdir(plans)).toEqual([]);
  });
});
