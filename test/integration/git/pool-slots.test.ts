import { readFile, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  dropClaim,
  evictSlot,
  listSlots,
  newSlotId,
  poolDir,
  readSlot,
  takeClaim,
  writeSlotMeta,
  type SlotMeta,
} from "../../../src/git/pool-slots.ts";
import { runGit } from "../../../src/git/run-git.ts";
import { git, makeMirrorSandbox, type GitSandbox } from "../../helpers/git-sandbox.ts";

const REPO = "octo/widgets";
let box: GitSandbox;
let mirror: string;
beforeEach(async () => {
  ({ box, mirror } = await makeMirrorSandbox("ghs_TOKEN"));
});
afterEach(async () => {
  await box.cleanup();
});

async function makeSlot(): Promise<{ id: string; path: string }> {
  const id = newSlotId();
  const dir = path.join(poolDir(box.home, REPO), id);
  await runGit(["worktree", "add", "--quiet", "--detach", dir, "main"], { cwd: mirror });
  const meta: SlotMeta = {
    base: "main",
    sha: await git(dir, "rev-parse", "HEAD"),
    setupKey: null,
    setupOk: true,
    createdAt: new Date().toISOString(),
    lastUsedAt: new Date().toISOString(),
  };
  await writeSlotMeta(box.home, REPO, id, meta);
  return { id, path: dir };
}

/** A pid that was this machine's and is no longer in use. */
async function deadPid(): Promise<number> {
  const child = execa("true");
  const pid = child.pid!;
  await child;
  return pid;
}

describe("pool slots", () => {
  it("lists a ready slot with its meta, unclaimed", async () => {
    const { id, path: dir } = await makeSlot();
    const [slot, ...rest] = await listSlots(box.home);
    expect(rest).toEqual([]);
    expect(slot).toMatchObject({ repoFullName: REPO, id, path: dir, claim: null, stale: false });
    expect(slot?.meta?.sha).toBe(await git(box.origin, "rev-parse", "main"));
  });

  it("gives a slot's claim to one taker at a time, and back", async () => {
    const { id } = await makeSlot();
    const takes = await Promise.all([1, 2, 3, 4].map((n) => takeClaim(box.home, REPO, id, `attempt ${n}`)));
    expect(takes.filter(Boolean)).toHaveLength(1);
    expect((await readSlot(box.home, REPO, id)).claim).toMatchObject({
      pid: process.pid,
      host: os.hostname(),
    });
    await dropClaim(box.home, REPO, id);
    expect(await takeClaim(box.home, REPO, id, "again")).toBe(true);
  });

  it("never evicts a slot a live process holds; evicts it once that process is gone", async () => {
    const { id, path: dir } = await makeSlot();
    expect(await takeClaim(box.home, REPO, id, "attempt 1-2-1-1")).toBe(true);
    expect(await evictSlot(box.home, { repoFullName: REPO, id })).toBe(false);
    expect((await stat(dir)).isDirectory()).toBe(true);

    const claimFile = path.join(poolDir(box.home, REPO), `${id}.claim`);
    const claim = JSON.parse(await readFile(claimFile, "utf8"));
    await writeFile(claimFile, JSON.stringify({ ...claim, pid: await deadPid() }));
    expect((await readSlot(box.home, REPO, id)).stale).toBe(true);

    const evictions = await Promise.all([1, 2].map(() => evictSlot(box.home, { repoFullName: REPO, id })));
    expect(evictions.filter(Boolean)).toHaveLength(1);
    await expect(stat(dir)).rejects.toThrow();
    expect(await listSlots(box.home, REPO)).toEqual([]);
    expect(await git(mirror, "worktree", "list", "--porcelain")).not.toContain(dir);
  });

  it("treats a claim file left empty by a writer that died as stale after a minute", async () => {
    const { id } = await makeSlot();
    const claimFile = path.join(poolDir(box.home, REPO), `${id}.claim`);
    await writeFile(claimFile, "");
    expect((await readSlot(box.home, REPO, id)).stale).toBe(false);
    const old = new Date(Date.now() - 5 * 60_000);
    const { utimes } = await import("node:fs/promises");
    await utimes(claimFile, old, old);
    expect((await readSlot(box.home, REPO, id)).stale).toBe(true);
    expect(await evictSlot(box.home, { repoFullName: REPO, id })).toBe(true);
  });

  it("lists every repository's slots, taking no stray file beside them for a repository", async () => {
    const { id } = await makeSlot();
    await writeFile(path.join(path.dirname(poolDir(box.home, REPO)), "widgets.lock"), "123\n");
    expect((await listSlots(box.home)).map((slot) => `${slot.repoFullName} ${slot.id}`)).toEqual([
      `${REPO} ${id}`,
    ]);
  });

  it("refuses a repository name that would step outside DROVER_HOME", () => {
    expect(() => poolDir(box.home, "../etc")).toThrow(/invalid repository name/);
  });
});
