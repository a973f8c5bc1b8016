import { lutimes, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { changedSince, IdleWatch } from "../../../src/agent/idle-watch.ts";

let root: string;
/** A time before which everything in `root` was made (its entries are set to it). */
const PAST = Date.now() - 60_000;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "drover-idle-watch-"));
});
afterEach(() => rm(root, { recursive: true, force: true }));

/** Sets the times of `paths` (deepest first) to PAST, as a worktree untouched for a while. */
async function age(...paths: string[]): Promise<void> {
  for (const file of paths) await utimes(file, PAST / 1000, PAST / 1000);
}

describe("changedSince", () => {
  it("finds nothing in a tree untouched since then", async () => {
    await mkdir(join(root, "src/deep"), { recursive: true });
    await writeFile(join(root, "src/deep/a.ts"), "a");
    await age(join(root, "src/deep/a.ts"), join(root, "src/deep"), join(root, "src"), root);
    expect(await changedSince(root, PAST + 1_000)).toBeUndefined();
  });

  it("finds a file changed deep in the tree", async () => {
    await mkdir(join(root, "src/deep"), { recursive: true });
    await age(join(root, "src/deep"), join(root, "src"), root);
    const since = Date.now() - 1_000;
    await writeFile(join(root, "src/deep/a.ts"), "edited");
    await age(join(root, "src/deep"));
    const changed = await changedSince(root, since);
    expect(changed).toBeGreaterThan(since);
  });

  it("finds a deleted file as its directory's change", async () => {
    await mkdir(join(root, "src"));
    await writeFile(join(root, "src/gone.ts"), "x");
    await age(join(root, "src/gone.ts"), join(root, "src"), root);
    const since = Date.now() - 1_000;
    await rm(join(root, "src/gone.ts"));
    expect(await changedSince(root, since)).toBeGreaterThan(since);
  });

  it("does not count changes inside .git, nor follow a link out of the tree", async () => {
    const outside = await mkdtemp(join(tmpdir(), "drover-idle-outside-"));
    try {
      await mkdir(join(root, ".git/objects"), { recursive: true });
      await symlink(outside, join(root, "linked"));
      await lutimes(join(root, "linked"), PAST / 1000, PAST / 1000);
      await age(join(root, ".git/objects"), join(root, ".git"), root);
      const since = Date.now() - 1_000;
      await writeFile(join(root, ".git/objects/new"), "a commit's object");
      await writeFile(join(outside, "elsewhere.txt"), "not the worktree");
      expect(await changedSince(root, since)).toBeUndefined();
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it("reads a missing tree as unchanged", async () => {
    expect(await changedSince(join(root, "missing"), 0)).toBeUndefined();
  });
});

describe("IdleWatch", () => {
  it("says idle once nothing was printed or changed for the period", async () => {
    await age(root);
    const started = Date.now();
    const idle = await new Promise<number>((resolve) => new IdleWatch(root, 200, resolve));
    expect(idle).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  it("waits while output keeps coming, and while files keep changing", async () => {
    await age(root);
    const events: string[] = [];
    const watch = new IdleWatch(root, 200, () => events.push("idle"));
    for (let i = 0; i < 4; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      watch.activity();
    }
    for (let i = 0; i < 4; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      await writeFile(join(root, "work.txt"), String(i));
    }
    expect(events).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(events).toEqual(["idle"]);
    watch.stop();
  });

  it("says nothing once stopped", async () => {
    const events: string[] = [];
    const watch = new IdleWatch(root, 100, () => events.push("idle"));
    watch.stop();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(events).toEqual([]);
  });
});
