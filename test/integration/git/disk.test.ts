import { mkdir, readdir, readFile, stat, utimes, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { pruneDisk, type DiskActivity, type DiskPassOptions } from "../../../src/git/disk.ts";
import { ensureMirror } from "../../../src/git/mirror.ts";
import {
  dropClaim,
  listSlots,
  newSlotId,
  poolDir,
  takeClaim,
  writeSlotMeta,
  type SlotMeta,
} from "../../../src/git/pool-slots.ts";
import { runGit } from "../../../src/git/run-git.ts";
import { git, makeMirrorSandbox, type GitSandbox } from "../../helpers/git-sandbox.ts";

const REPO = "octo/widgets";
const GONE = "octo/gone";
const DAY = 86_400_000;

let box: GitSandbox;
let mirror: string;
beforeEach(async () => {
  ({ box, mirror } = await makeMirrorSandbox("ghs_TOKEN"));
});
afterEach(async () => {
  await box.cleanup();
});

const INSTALLED: DiskActivity = { installed: new Set([REPO]), runningRuns: [], runningRepos: new Set() };

function pass(fields: Partial<DiskPassOptions> = {}) {
  return pruneDisk(box.home, {
    budget: undefined,
    keepRunsMs: 7 * DAY,
    measure: true,
    activity: () => Promise.resolve(INSTALLED),
    ...fields,
  });
}

/** A ready slot of `repo`, last used `daysAgo`, with a file of `bytes` in it (a dependency install). */
async function makeSlot(repo: string, daysAgo: number, bytes = 10_000): Promise<{ id: string; dir: string }> {
  const id = newSlotId();
  const dir = path.join(poolDir(box.home, repo), id);
  const repoMirror = path.join(box.home, "mirrors", `${repo}.git`);
  await runGit(["worktree", "add", "--quiet", "--detach", dir, "main"], { cwd: repoMirror });
  await writeFile(path.join(dir, "deps.bin"), Buffer.alloc(bytes));
  const at = new Date(Date.now() - daysAgo * DAY).toISOString();
  const meta: SlotMeta = {
    base: "main",
    sha: await git(dir, "rev-parse", "HEAD"),
    setupKey: null,
    setupOk: true,
    createdAt: at,
    lastUsedAt: at,
  };
  await writeSlotMeta(box.home, repo, id, meta);
  return { id, dir };
}

/** A run directory whose files were last written `daysAgo`. */
async function makeRun(name: string, daysAgo: number): Promise<string> {
  const dir = path.join(box.home, "runs", name);
  await mkdir(path.join(dir, "home"), { recursive: true });
  await writeFile(path.join(dir, "agent.log"), "the agent's log\n".repeat(100));
  await writeFile(path.join(dir, "home", ".bash_history"), "ls\n");
  const at = new Date(Date.now() - daysAgo * DAY);
  for (const p of [
    path.join(dir, "home", ".bash_history"),
    path.join(dir, "home"),
    path.join(dir, "agent.log"),
    dir,
  ])
    await utimes(p, at, at);
  return dir;
}

async function present(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

async function worktreesOf(repoMirror: string): Promise<string> {
  return git(repoMirror, "worktree", "list", "--porcelain");
}

describe("disk housekeeping on a real DROVER_HOME", () => {
  it("over budget, evicts the least recently used idle worktree first, and never a claimed one", async () => {
    const claimed = await makeSlot(REPO, 10);
    const older = await makeSlot(REPO, 5);
    const newer = await makeSlot(REPO, 1);
    expect(await takeClaim(box.home, REPO, claimed.id, "attempt 1-12-1-1")).toBe(true);
    // The pool's own lock file (a fill running) sits beside the slots' directory.
    await writeFile(`${poolDir(box.home, REPO)}.lock`, `${process.pid}\n`);

    const measured = await pass();
    expect(measured.removed).toEqual([]);
    const usage = measured.usage!;
    expect(usage).toBeGreaterThan(30_000);

    const first = await pass({ budget: usage - 1 });
    expect(first.removed.map((r) => r.key)).toEqual([`pool/${REPO}/${older.id}`]);
    expect(first.removed[0]!.bytes).toBeGreaterThan(10_000);
    expect(first.usage).toBe(usage - first.freedBytes);
    expect(await present(older.dir)).toBe(false);
    expect(await worktreesOf(mirror)).not.toContain(older.dir);

    // Nothing else may go: the claimed slot and the installed repository's mirror stay, and it says so.
    const tight = await pass({ budget: 1_000 });
    expect(tight.removed.map((r) => r.key)).toEqual([`pool/${REPO}/${newer.id}`]);
    expect(tight.overBudget).toBe(true);
    expect(await present(claimed.dir)).toBe(true);
    expect(await present(mirror)).toBe(true);
    expect((await listSlots(box.home, REPO)).map((s) => s.id)).toEqual([claimed.id]);
  });

  it("removes run directories after DROVER_KEEP_RUNS, but never a running attempt's", async () => {
    const old = await makeRun("4242-12-1-1", 8);
    const recent = await makeRun("4242-13-1-1", 2);
    const running = await makeRun("4242-14-2-3", 30);
    const activity: DiskActivity = { ...INSTALLED, runningRuns: ["4242-14-2-"] };

    // A worker's pass without a budget measures only what it removes.
    const result = await pass({ measure: false, activity: () => Promise.resolve(activity) });
    expect(result.removed).toEqual([
      { kind: "run", key: "runs/4242-12-1-1", bytes: expect.any(Number), reason: "expired" },
    ]);
    expect(result.removed[0]!.bytes).toBeGreaterThan(1_000);
    expect(result.usage).toBeNull();
    expect([await present(old), await present(recent), await present(running)]).toEqual([false, true, true]);

    // A run kept less long expires sooner.
    const shorter = await pass({ keepRunsMs: DAY, activity: () => Promise.resolve(activity) });
    expect(shorter.removed.map((r) => r.key)).toEqual(["runs/4242-13-1-1"]);
    expect(await present(running)).toBe(true);
  });

  it("removes the mirror, pool and caches of a repository Drover left, and keeps an installed one's", async () => {
    const goneMirror = await ensureMirror({ home: box.home, repoFullName: GONE, cloneUrl: box.origin });
    const goneState = goneMirror.replace(/\.git$/, ".state.json");
    await writeFile(goneState, JSON.stringify({ fetchedAt: new Date().toISOString(), branches: {} }));
    const goneSlot = await makeSlot(GONE, 3);
    const goneCache = path.join(box.home, "cache", "octo", "gone", "npm");
    await mkdir(goneCache, { recursive: true });
    await writeFile(path.join(goneCache, "tarball.tgz"), Buffer.alloc(50_000));
    const keptCache = path.join(box.home, "cache", "octo", "widgets", "npm");
    await mkdir(keptCache, { recursive: true });
    await writeFile(path.join(keptCache, "tarball.tgz"), Buffer.alloc(50_000));
    const slot = await makeSlot(REPO, 1);

    // While a live process holds one of its worktrees, the mirror stays (the worktree needs it).
    expect(await takeClaim(box.home, GONE, goneSlot.id, "fill")).toBe(true);
    const held = await pass({ budget: 1_000 });
    expect(held.removed.map((r) => r.key)).toEqual([`pool/${REPO}/${slot.id}`]);
    expect(await present(goneMirror)).toBe(true);

    await dropClaim(box.home, GONE, goneSlot.id);
    const result = await pass({ budget: 1_000 });
    // Its idle slot was used longer ago than the mirror was fetched: it goes first, then the mirror.
    expect(result.removed.map((r) => [r.kind, r.key])).toEqual([
      ["slot", `pool/${GONE}/${goneSlot.id}`],
      ["mirror", "mirrors/octo/gone.git"],
    ]);
    expect(result.removed[1]!.bytes).toBeGreaterThan(50_000); // its cache went with it
    expect(await present(goneMirror)).toBe(false);
    expect(await present(goneState)).toBe(false);
    expect(await present(goneSlot.dir)).toBe(false);
    expect(await present(path.join(box.home, "cache", "octo", "gone"))).toBe(false);
    expect(await present(mirror)).toBe(true);
    expect(await present(keptCache)).toBe(true);
    expect(result.overBudget).toBe(true);
  });

  it("removes what crashes left: stale slots and worktrees of attempts no longer running", async () => {
    const stale = await makeSlot(REPO, 1);
    const claimFile = path.join(poolDir(box.home, REPO), `${stale.id}.claim`);
    const dead = execa("true");
    const deadPid = dead.pid!;
    await dead;
    await writeFile(
      claimFile,
      JSON.stringify({ pid: deadPid, host: os.hostname(), purpose: "fill", at: new Date().toISOString() }),
    );
    const idle = await makeSlot(REPO, 1);
    const leftover = path.join(box.home, "worktrees", "4242-12-1-1");
    const live = path.join(box.home, "worktrees", "4242-13-1-2");
    for (const [dir, branch] of [
      [leftover, "drover/12-a"],
      [live, "drover/13-b"],
    ] as const)
      await runGit(["worktree", "add", "--quiet", "-b", branch, dir, "main"], { cwd: mirror });
    const activity: DiskActivity = {
      ...INSTALLED,
      runningRuns: ["4242-13-1-"],
      runningRepos: new Set([REPO]),
    };

    const result = await pass({ measure: false, activity: () => Promise.resolve(activity) });
    expect(result.removed.map((r) => [r.kind, r.key, r.reason]).sort()).toEqual([
      ["leftover", "worktrees/4242-12-1-1", "garbage"],
      ["slot", `pool/${REPO}/${stale.id}`, "garbage"],
    ]);
    const listed = await worktreesOf(mirror);
    expect(listed).not.toContain(leftover);
    expect(listed).not.toContain(stale.dir);
    expect(listed).toContain(live);
    expect(listed).toContain(idle.dir);
    expect(await present(claimFile)).toBe(false);
  });

  it("with --all removes every idle worktree, finished run and cache, and skips a claimed worktree saying why", async () => {
    const claimed = await makeSlot(REPO, 1);
    const idle = await makeSlot(REPO, 1);
    expect(await takeClaim(box.home, REPO, claimed.id, "attempt 4242-12-1-1")).toBe(true);
    await makeRun("4242-11-1-1", 0);
    const running = await makeRun("4242-12-1-1", 0);
    const cache = path.join(box.home, "cache", "octo", "widgets", "pip");
    await mkdir(cache, { recursive: true });
    await writeFile(path.join(cache, "wheel.whl"), "wheel");
    const activity: DiskActivity = { ...INSTALLED, runningRuns: ["4242-12-1-"] };

    // The repository has a claimed worktree: its caches are in use, so they stay.
    const busy = await pass({ all: true, activity: () => Promise.resolve(activity) });
    expect(busy.removed.map((r) => r.key).sort()).toEqual([`pool/${REPO}/${idle.id}`, "runs/4242-11-1-1"]);
    expect(busy.kept.map((k) => [k.key, k.why])).toEqual([
      [`pool/${REPO}/${claimed.id}`, "claimed by a live process (attempt 4242-12-1-1)"],
      ["cache/octo/widgets", "its repository has an attempt running or a worktree claimed"],
      ["runs/4242-12-1-1", "its attempt is running"],
    ]);
    expect(await present(claimed.dir)).toBe(true);
    expect(await present(running)).toBe(true);
    expect(await present(mirror)).toBe(true);

    await dropClaim(box.home, REPO, claimed.id);
    const after = await pass({ all: true });
    expect(after.removed.map((r) => r.key).sort()).toEqual([
      "cache/octo/widgets",
      `pool/${REPO}/${claimed.id}`,
      "runs/4242-12-1-1",
    ]);
    expect(await readdir(path.join(box.home, "mirrors", "octo"))).toContain("widgets.git");
    expect(await readFile(path.join(mirror, "HEAD"), "utf8")).toMatch(/^ref: /);
  });
});
