import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runSetup, setupHome, SetupSurroundingsError, type SetupResult } from "../../../src/agent/setup.ts";
import { ensureMirror } from "../../../src/git/mirror.ts";
import {
  advancePool,
  claimWorktree,
  fillPool,
  releaseWorktree,
  strayFiles,
  type PoolSetup,
} from "../../../src/git/pool.ts";
import { listSlots, poolDir } from "../../../src/git/pool-slots.ts";
import { git, makeGitSandbox, type GitSandbox } from "../../helpers/git-sandbox.ts";

const REPO = "octo/widgets";
const TSX = import.meta.resolve("tsx");
const CLAIMER = new URL("../../fixtures/pool-claimer.ts", import.meta.url).pathname;
let box: GitSandbox;
let counter: string;
beforeEach(async () => {
  box = await makeGitSandbox();
  await box.commitToOrigin(".gitignore", "node_modules/\ndist/\n");
  await box.commitToOrigin("package-lock.json", '{"lockfileVersion":3,"v":1}\n');
  await fetchMirror();
  counter = path.join(box.root, "setup-runs.txt");
});
afterEach(async () => {
  await box.cleanup();
});

const fetchMirror = () =>
  ensureMirror({ home: box.home, repoFullName: REPO, cloneUrl: box.origin, base: "main" });
const target = () => ({ home: box.home, repoFullName: REPO, base: "main" });

/**
 * The repository's setup, run for real (src/agent/setup.ts): it counts its runs in a file outside the
 * worktree, installs into node_modules and writes into npm's shared cache.
 */
function setupOf(command?: string): PoolSetup<SetupResult> {
  const setup = {
    command:
      command ??
      'echo run >> "$COUNTER" && mkdir -p node_modules/dep && echo installed > node_modules/dep/index.js && echo blob > "$npm_config_cache/blob"',
    timeoutMs: 20_000,
  };
  const surroundings = {
    home: box.home,
    repoFullName: REPO,
    passEnv: ["COUNTER"],
    registryFiles: [],
    workerHome: os.homedir(),
    source: { PATH: process.env.PATH ?? "/usr/bin:/bin", COUNTER: counter },
  };
  return {
    command: setup.command,
    run: (worktree, signal) => runSetup({ setup, worktree, surroundings, signal }),
  };
}

async function setupRuns(): Promise<number> {
  const text = await readFile(counter, "utf8").catch(() => "");
  return text.split("\n").filter(Boolean).length;
}

const claim = (issue: number, extra: { startSha?: string; setup?: PoolSetup<SetupResult> } = {}) =>
  claimWorktree({
    ...target(),
    branch: `drover/${issue}-task`,
    runName: `1-${issue}-1-1`,
    setup: extra.setup ?? setupOf(),
    ...(extra.startSha ? { startSha: extra.startSha } : {}),
  });

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

describe("the worktree pool", () => {
  it("hands every attempt a fresh checkout of its commit plus the ignored caches, nothing of an earlier task's", async () => {
    const filled = await fillPool({ ...target(), pool: { min: 1, max: 3 }, setup: setupOf() });
    expect(filled.made).toHaveLength(1);
    expect(await setupRuns()).toBe(1);

    const first = await claim(1);
    expect(first.warm).toBe(true);
    expect(first.setup).toBeNull(); // the filler's setup matches the lockfiles
    // What a task leaves behind: a tracked edit, a staged file, an untracked file, ignored build output,
    // a commit on its branch, a nested ignored directory.
    await writeFile(path.join(first.path, "README.md"), "changed by task 1\n");
    await writeFile(path.join(first.path, "staged.txt"), "staged\n");
    await git(first.path, "add", "staged.txt");
    await writeFile(path.join(first.path, "untracked.txt"), "stray\n");
    await mkdir(path.join(first.path, "dist"), { recursive: true });
    await writeFile(path.join(first.path, "dist", "out.js"), "built\n");
    await writeFile(path.join(first.path, "committed.txt"), "on the branch\n");
    await git(first.path, "add", "committed.txt");
    await git(first.path, "commit", "--quiet", "-m", "task 1 work");
    await writeFile(path.join(first.path, "README.md"), "changed again\n");
    expect(await releaseWorktree({ ...target(), slot: first.slot, max: 3 })).toBe("returned");

    const second = await claim(2);
    expect(second.path).toBe(first.path); // the same slot, handed back
    expect(second.warm).toBe(true);
    const tip = await git(box.origin, "rev-parse", "main");
    expect(await git(second.path, "rev-parse", "HEAD")).toBe(tip);
    expect(await git(second.path, "symbolic-ref", "HEAD")).toBe("refs/heads/drover/2-task");
    expect(await git(second.path, "status", "--porcelain", "--ignored")).toBe("!! node_modules/");
    expect(await strayFiles(second.path)).toEqual([]);
    expect(await readFile(path.join(second.path, "README.md"), "utf8")).toBe("hello\n");
    for (const gone of ["staged.txt", "untracked.txt", "dist", "committed.txt"])
      expect(await exists(path.join(second.path, gone))).toBe(false);
    // The dependency cache stayed, and setup did not run again.
    expect(await readFile(path.join(second.path, "node_modules", "dep", "index.js"), "utf8")).toBe(
      "installed\n",
    );
    expect(await setupRuns()).toBe(1);
  });

  it("puts a claimed worktree on the task branch at its start commit, even one a crashed attempt's slot holds", async () => {
    await fillPool({ ...target(), pool: { min: 2, max: 3 }, setup: setupOf() });
    const older = await git(box.origin, "rev-parse", "main~1");
    const crashed = await claim(7, { startSha: older });
    // Its worker died: the slot stays claimed, holding the branch. The next epoch claims another.
    const next = await claim(7, { startSha: older });
    expect(next.path).not.toBe(crashed.path);
    expect(await git(next.path, "rev-parse", "HEAD")).toBe(older);
    expect(await git(next.path, "symbolic-ref", "HEAD")).toBe("refs/heads/drover/7-task");
    expect(await strayFiles(next.path)).toEqual([]);
  });

  it("runs setup once per slot, and again only when a lockfile changes", async () => {
    await fillPool({ ...target(), pool: { min: 1, max: 1 }, setup: setupOf() });
    expect(await setupRuns()).toBe(1);
    const before = await git(box.origin, "rev-parse", "main");
    const cold = await fillPool({ ...target(), pool: { min: 1, max: 1 }, setup: setupOf() });
    expect(cold.made).toEqual([]); // already at min

    // The base moves without touching a lockfile: the slot follows it, no setup.
    await box.commitToOrigin("src.txt", "code\n");
    await fetchMirror();
    expect(await advancePool({ ...target(), setup: setupOf() })).toEqual({ advanced: 1, evicted: 0 });
    expect(await setupRuns()).toBe(1);
    const [slot] = await listSlots(box.home, REPO);
    expect(slot?.meta?.sha).toBe(await git(box.origin, "rev-parse", "main"));

    // A lockfile changes: setup runs again, once.
    await box.commitToOrigin("package-lock.json", '{"lockfileVersion":3,"v":2}\n');
    await fetchMirror();
    expect(await advancePool({ ...target(), setup: setupOf() })).toEqual({ advanced: 1, evicted: 0 });
    expect(await setupRuns()).toBe(2);
    const atTip = await claim(3);
    expect(atTip.setup).toBeNull();
    expect(await setupRuns()).toBe(2);
    await releaseWorktree({ ...target(), slot: atTip.slot, max: 1 });

    // A task starting from a commit with the old lockfile: setup runs for it.
    const old = await claim(4, { startSha: before });
    expect(old.setup?.ok).toBe(true);
    expect(old.setupMs).toBeGreaterThan(0);
    expect(await setupRuns()).toBe(3);
    // The shared npm cache is where setup wrote.
    expect(await readFile(path.join(box.home, "cache", "octo", "widgets", "npm", "blob"), "utf8")).toBe(
      "blob\n",
    );
  });

  it("runs a setup that failed again at the next claim, and says how it failed", async () => {
    const flag = path.join(box.root, "registry-up");
    const flaky = setupOf(
      `echo run >> "$COUNTER"; test -f ${flag} || { echo "registry unreachable" >&2; exit 7; }`,
    );
    const filled = await fillPool({ ...target(), pool: { min: 1, max: 1 }, setup: flaky });
    expect(filled.setupFailed).toEqual(filled.made);
    expect((await listSlots(box.home, REPO))[0]?.meta).toMatchObject({ setupOk: false });

    const failed = await claim(5, { setup: flaky });
    expect(failed.warm).toBe(true);
    expect(failed.setup).toMatchObject({ ok: false, outcome: "failed", exitCode: 7 });
    expect(failed.setup?.outputTail).toContain("registry unreachable");
    await releaseWorktree({ ...target(), slot: failed.slot, max: 1 });
    expect(await setupRuns()).toBe(2);

    await writeFile(flag, "");
    const fixed = await claim(6, { setup: flaky });
    expect(fixed.setup?.ok).toBe(true);
    expect(await setupRuns()).toBe(3);
  });

  it("never gives two claims the same slot, and leaves claimed slots alone", async () => {
    await fillPool({ ...target(), pool: { min: 2, max: 3 }, setup: setupOf() });
    const claims = await Promise.all([claim(11), claim(12), claim(13)]);
    expect(new Set(claims.map((c) => c.path)).size).toBe(3);
    expect(claims.filter((c) => c.warm)).toHaveLength(2);
    // All three are in use (max 3): the filler makes none, and a new base tip moves none of them.
    expect((await fillPool({ ...target(), pool: { min: 2, max: 3 }, setup: setupOf() })).made).toEqual([]);
    await box.commitToOrigin("src.txt", "code\n");
    await fetchMirror();
    expect(await advancePool({ ...target(), setup: setupOf() })).toEqual({ advanced: 0, evicted: 0 });
    for (const [i, c] of claims.entries())
      expect(await git(c.path, "symbolic-ref", "HEAD")).toBe(`refs/heads/drover/${11 + i}-task`);

    // Handed back with max 2: two return (at the new tip), the third is removed.
    const fates = [];
    for (const c of claims) fates.push(await releaseWorktree({ ...target(), slot: c.slot, max: 2 }));
    expect(fates).toEqual(["returned", "returned", "evicted"]);
    const left = await listSlots(box.home, REPO);
    expect(left).toHaveLength(2);
    const tip = await git(box.origin, "rev-parse", "main");
    for (const slot of left) expect(slot.meta?.sha).toBe(tip);
    expect(await exists(claims[2]?.path ?? "")).toBe(false);
  });

  it("gives worker processes sharing DROVER_HOME a worktree each, never one another's", async () => {
    await fillPool({ ...target(), pool: { min: 2, max: 3 } });
    const runs = await Promise.all(
      [41, 42, 43, 44].map((issue) =>
        execa(process.execPath, ["--import", TSX, CLAIMER, box.home, REPO, String(issue), "1500"]),
      ),
    );
    const results = runs.map(
      (run) =>
        JSON.parse(String(run.stdout)) as { path: string; warm: boolean; intact: boolean; fate: string },
    );
    expect(new Set(results.map((r) => r.path)).size).toBe(4);
    expect(results.filter((r) => r.warm)).toHaveLength(2);
    expect(results.every((r) => r.intact)).toBe(true);
    // Handed back with max 3: three idle and ready, no claim left, none holding a task's file.
    const slots = await listSlots(box.home, REPO);
    expect(slots.map((s) => [s.claim, s.meta === null])).toEqual([
      [null, false],
      [null, false],
      [null, false],
    ]);
    for (const slot of slots) expect(await strayFiles(slot.path)).toEqual([]);
  });

  it("removes a worktree whose .git was pointed elsewhere instead of cleaning it", async () => {
    const claimed = await claim(21);
    expect(claimed.warm).toBe(false); // no pool yet: made in the attempt
    await writeFile(path.join(claimed.path, ".git"), `gitdir: ${path.join(box.root, "elsewhere")}\n`);
    expect(await releaseWorktree({ ...target(), slot: claimed.slot, max: 3 })).toBe("evicted");
    expect(await exists(claimed.path)).toBe(false);
    expect(await listSlots(box.home, REPO)).toEqual([]);
  });

  it("recycles a slot whose holder died, never handing it out", async () => {
    await fillPool({ ...target(), pool: { min: 1, max: 3 }, setup: setupOf() });
    const [slot] = await listSlots(box.home, REPO);
    const dead = execa("true");
    const pid = dead.pid ?? 0;
    await dead;
    const claimFile = path.join(poolDir(box.home, REPO), `${slot?.id}.claim`);
    await writeFile(
      claimFile,
      JSON.stringify({ pid, host: os.hostname(), purpose: "attempt x", at: new Date().toISOString() }),
    );
    const claimed = await claim(31);
    expect(claimed.path).not.toBe(slot?.path);
    const filled = await fillPool({ ...target(), pool: { min: 1, max: 3 }, setup: setupOf() });
    expect(filled.recycled).toBe(1);
    expect(await exists(slot?.path ?? "")).toBe(false);
  });
});

describe("setup's surroundings", () => {
  it("runs with the repository's HOME and registry files, never the token, and shows no secret or server path", async () => {
    const workerHome = path.join(box.root, "worker-home");
    await mkdir(workerHome, { recursive: true });
    await writeFile(
      path.join(workerHome, ".npmrc"),
      "//registry.example/:_authToken=npm_SECRETTOKEN1234567890\n",
    );
    const worktree = path.join(box.root, "wt");
    await mkdir(worktree);
    const result = await runSetup({
      setup: {
        command:
          'cat "$HOME/.npmrc"; echo "token=${GITHUB_TOKEN:-none}"; echo "cwd=$PWD"; ls -l "$HOME/.npmrc"; exit 3',
        timeoutMs: 10_000,
      },
      worktree,
      surroundings: {
        home: box.home,
        repoFullName: REPO,
        passEnv: [],
        registryFiles: ["~/.npmrc"],
        workerHome,
        source: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          GITHUB_TOKEN: "ghs_WORKERTOKEN",
          HOME: workerHome,
        },
      },
    });
    expect(result).toMatchObject({ ok: false, outcome: "failed", exitCode: 3 });
    expect(result.outputTail).toContain("[REDACTED");
    expect(result.outputTail).not.toContain("npm_SECRETTOKEN1234567890");
    expect(result.outputTail).toContain("token=none");
    expect(result.outputTail).toContain("cwd=.");
    expect(result.outputTail).toMatch(/^-r--------/m);
    expect(result.outputTail).not.toContain(box.root);
    expect(await readFile(path.join(setupHome(box.home, REPO), ".npmrc"), "utf8")).toContain("_authToken");
  });

  it("refuses a registry file it cannot read, naming the setting and the file, not the worker's path", async () => {
    const worktree = path.join(box.root, "wt");
    await mkdir(worktree);
    const workerHome = path.join(box.root, "worker-home");
    const error: unknown = await runSetup({
      setup: { command: "true", timeoutMs: 10_000 },
      worktree,
      surroundings: {
        home: box.home,
        repoFullName: REPO,
        passEnv: [],
        registryFiles: ["~/.npmrc"],
        workerHome,
      },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SetupSurroundingsError);
    expect((error as Error).message).toMatch(/^DROVER_REGISTRY_FILES names ~\/\.npmrc, which cannot be read/);
    expect((error as Error).message).not.toContain(box.root);
  });

  it("stops a setup at its timeout and says so", async () => {
    const worktree = path.join(box.root, "wt");
    await mkdir(worktree);
    const result = await runSetup({
      setup: { command: "sleep 30", timeoutMs: 300 },
      worktree,
      surroundings: {
        home: box.home,
        repoFullName: REPO,
        passEnv: [],
        registryFiles: [],
        workerHome: os.homedir(),
      },
    });
    expect(result).toMatchObject({ ok: false, outcome: "timed-out" });
  });
});
