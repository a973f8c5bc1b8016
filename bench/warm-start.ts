/**
 * Warm starts: from a worker taking an attempt to its agent's first instruction, cold (no mirror, no pool,
 * empty package caches: a repository's first task on a new worker) and warm (the mirror current and the
 * pool filled in the background, as the warm-pool job keeps them), on a generated repository of about
 * 5,000 files and 50 MB with history, whose `setup` takes seconds the first time (it "downloads" into the
 * shared package cache, then installs from it).
 *
 * The code path is run-task's: openWorktree (mirror freshness, fetch, claim or make a worktree, setup,
 * agent configuration pinned) and the agent started by runAgent, whose program writes the time of its
 * first instruction. The GitHub round trips between them in production (the status comment, the prompt's
 * context) are left out: they cost the same warm or cold, and the sandbox's timings say nothing of
 * GitHub's. Each sample's worktree is handed back (releaseWorkspace) and, between warm samples, the pool
 * refilled as the warm-pool job would, untimed.
 *
 * A retry's setup: the same repository's next attempt in a worktree made anew (its pooled one gone), so
 * setup runs again with the package cache the first filled: it reinstalls, downloading nothing. (An
 * attempt that gets a pooled worktree whose lockfiles match runs no setup at all.)
 *
 * Targets: warm p50 ≤ 1 s, warm p50 / cold p50 ≤ 0.05, retry setup / first setup ≤ 0.1. Last line: JSON.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { runAgent } from "../src/agent/run-agent.ts";
import { DroverConfig } from "../src/config/schema.ts";
import type { Attempt } from "../src/db/attempt-record.ts";
import type { Repository } from "../src/db/repositories.ts";
import type { Task } from "../src/db/tasks.ts";
import { generateRepository } from "../src/demo/generated-repo.ts";
import { fillPool } from "../src/git/pool.ts";
import { evictSlot, listSlots } from "../src/git/pool-slots.ts";
import { runGit } from "../src/git/run-git.ts";
import type { JobDeps } from "../jobs/deps.ts";
import type { Run } from "../jobs/run-task/run.ts";
import {
  freshMirror,
  openWorktree,
  poolSetup,
  releaseWorkspace,
  type Workspace,
} from "../jobs/run-task/worktree.ts";
import { percentile, round } from "./stats.ts";

const SHAPE = { files: 5_000, bytes: 50_000_000, commits: 30, churn: 100, seed: 17 };
const COLD_SAMPLES = 5;
const WARM_SAMPLES = 15;
const TARGETS = { warmP50Ms: 1_000, warmOverCold: 0.05, retrySetupOverFirst: 0.1 };

/**
 * Stands in for a package manager: the first time, it downloads (3 s and 30 MB into the shared cache that
 * Drover points npm_config_cache at); then it installs from the cache into node_modules.
 */
const SETUP_SCRIPT = `set -e
cache="\${npm_config_cache:?Drover sets npm_config_cache}/bench-packages"
if [ ! -f "$cache/complete" ]; then
  mkdir -p "$cache"
  sleep 3
  head -c 30000000 /dev/urandom > "$cache/packages.tar"
  touch "$cache/complete"
fi
mkdir -p node_modules
cp "$cache/packages.tar" node_modules/packages.tar
`;

/** The agent: its first instruction writes the time, then it ends. */
const AGENT_SCRIPT = `import { writeFileSync } from "node:fs";
writeFileSync(process.argv[2], String(performance.timeOrigin + performance.now()));
`;

const REPO = "bench/warm-start";
const config = DroverConfig.parse({ setup: "sh bench-setup.sh", pool: { min: 2, max: 3 } });

type Sample = { claimToAgentMs: number; worktreeMs: number; setupMs: number };

export async function run(): Promise<void> {
  const root = await mkdtemp(path.join(os.tmpdir(), "drover-bench-warm-"));
  try {
    const origin = path.join(root, "origin.git");
    const made = performance.now();
    await generateRepository(origin, SHAPE, {
      "bench-setup.sh": SETUP_SCRIPT,
      "package-lock.json": `${JSON.stringify({ name: "bench", lockfileVersion: 3, packages: {} })}\n`,
    });
    const tip = await runGit(["rev-parse", "main"], { cwd: origin });
    const agent = path.join(root, "agent.mjs");
    await writeFile(agent, AGENT_SCRIPT);
    console.log(
      `repository: ${SHAPE.files} files, ${Math.round(SHAPE.bytes / 1e6)} MB, ${SHAPE.commits} commits (made in ${seconds(performance.now() - made)})`,
    );
    const repository = repositoryOf(`file://${origin}`);
    const bench = { root, agent, repository };

    const cold: Sample[] = [];
    const retrySetups: number[] = [];
    for (let i = 0; i < COLD_SAMPLES; i++) {
      const home = await mkdtemp(path.join(root, "cold-"));
      cold.push(await sample(bench, home, 1));
      // The same repository's retry, in a worktree made anew: setup again, from the cache the first filled.
      for (const slot of await listSlots(home, REPO)) await evictSlot(home, slot);
      retrySetups.push((await sample(bench, home, 2)).setupMs);
      await rm(home, { recursive: true, force: true });
    }

    const home = await mkdtemp(path.join(root, "warm-"));
    const deps = depsFor(home);
    // What the warm-pool job does in the background: the mirror made, the pool filled, setup run.
    await freshMirror(home, repository, "", undefined);
    const warmRepository = { ...repository, baseSha: tip, basePushedAt: new Date() };
    await refill(deps, home, warmRepository);
    const warm: Sample[] = [];
    for (let i = 0; i < WARM_SAMPLES; i++) {
      warm.push(await sample({ ...bench, repository: warmRepository }, home, i + 1));
      await refill(deps, home, warmRepository);
    }

    report(cold, warm, retrySetups);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** One attempt's start: worktree (with whatever fetch and setup it needs), then the agent's first instruction. */
async function sample(
  bench: { root: string; agent: string; repository: Repository },
  home: string,
  attemptNumber: number,
): Promise<Sample> {
  const deps = depsFor(home);
  const run = runOf(bench.repository, attemptNumber);
  const startedFile = path.join(bench.root, `started-${process.hrtime.bigint()}`);
  const claimed = now();
  const opened = await openWorktree(deps, run, undefined);
  if ("setupFailed" in opened) throw new Error(`setup failed: ${opened.setupFailed.judgement.reason}`);
  const work: Workspace = opened;
  try {
    const result = await runAgent({
      agent: "command",
      agentCommand: [process.execPath, bench.agent, startedFile],
      prompt: "Start.",
      cwd: work.path,
      workDir: path.join(home, "runs", work.runName),
      timeoutMs: 60_000,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: path.join(home, "runs", work.runName, "home") },
    });
    if (result.exitCode !== 0) throw new Error(`the bench's agent failed: ${result.logTail}`);
    const agentStarted = Number(await readFile(startedFile, "utf8"));
    return {
      claimToAgentMs: agentStarted - claimed,
      worktreeMs: work.worktreeMs,
      setupMs: work.setupMs ?? 0,
    };
  } finally {
    await releaseWorkspace(deps, run, work);
  }
}

async function refill(deps: JobDeps, home: string, repository: Repository): Promise<void> {
  await fillPool({
    home,
    repoFullName: REPO,
    base: "main",
    pool: config.pool,
    setup: await poolSetup(deps, repository, config),
  });
}

function report(cold: Sample[], warm: Sample[], retrySetups: number[]): void {
  const stats = (samples: Sample[]) => {
    const sorted = samples.map((s) => s.claimToAgentMs).sort((a, b) => a - b);
    return { p50: percentile(sorted, 50), p95: percentile(sorted, 95) };
  };
  const c = stats(cold);
  const w = stats(warm);
  const median = (values: number[]) =>
    percentile(
      [...values].sort((a, b) => a - b),
      50,
    );
  const firstSetup = median(cold.map((s) => s.setupMs));
  const retrySetup = median(retrySetups);
  const parts = (samples: Sample[]) =>
    `worktree p50 ${ms(median(samples.map((s) => s.worktreeMs)))}, setup p50 ${ms(median(samples.map((s) => s.setupMs)))}`;
  console.log(
    `cold (${cold.length} runs): claim → agent p50 ${ms(c.p50)}, p95 ${ms(c.p95)} (${parts(cold)})`,
  );
  console.log(
    `warm (${warm.length} runs): claim → agent p50 ${ms(w.p50)}, p95 ${ms(w.p95)} (${parts(warm)})`,
  );
  const ratio = w.p50 / c.p50;
  const setupRatio = retrySetup / firstSetup;
  console.log(`warm/cold p50: ${round(ratio, 4)} (target ≤ ${TARGETS.warmOverCold})`);
  console.log(
    `setup: first ${ms(firstSetup)}, a retry's ${ms(retrySetup)} → ${round(setupRatio, 4)} (target ≤ ${TARGETS.retrySetupOverFirst})`,
  );
  const met = {
    warmP50: w.p50 <= TARGETS.warmP50Ms,
    warmOverCold: ratio <= TARGETS.warmOverCold,
    retrySetup: setupRatio <= TARGETS.retrySetupOverFirst,
  };
  console.log(
    JSON.stringify({
      bench: "warm-start",
      repository: SHAPE,
      coldMs: { p50: round(c.p50, 1), p95: round(c.p95, 1), runs: cold.length },
      warmMs: { p50: round(w.p50, 1), p95: round(w.p95, 1), runs: warm.length },
      warmOverCold: round(ratio, 4),
      setupMs: { first: round(firstSetup, 1), retry: round(retrySetup, 1), ratio: round(setupRatio, 4) },
      targets: TARGETS,
      met,
    }),
  );
}

/** The wall clock with sub-millisecond precision, comparable with the agent process's. */
function now(): number {
  return performance.timeOrigin + performance.now();
}

const ms = (value: number) => `${Math.round(value)} ms`;
const seconds = (value: number) => `${(value / 1000).toFixed(1)} s`;

function depsFor(home: string): JobDeps {
  // openWorktree and releaseWorkspace read the environment, the token and (for the refill) the queue; a
  // local origin needs no token, and the bench refills the pool itself.
  return {
    env: { DROVER_HOME: home, DROVER_AGENT_ENV: [] },
    github: { token: async () => "" },
    enqueue: async () => {},
    log: pino({ level: "warn" }),
  } as unknown as JobDeps;
}

function repositoryOf(cloneUrl: string): Repository {
  return {
    id: 1,
    installationId: 1,
    fullName: REPO,
    cloneUrl,
    defaultBranch: "main",
    baseSha: null,
    basePushedAt: null,
    removedAt: null,
    createdAt: new Date(),
    updatedAt: new Date(),
  };
}

/** The attempt as run-task holds it: only what openWorktree reads is filled in. */
function runOf(repository: Repository, attemptNumber: number): Run {
  const task = { id: 1, issueNumber: 7, branch: "drover/7-warm-start" } as Task;
  const attempt = { id: attemptNumber, number: attemptNumber, start: null, createdAt: new Date() } as Attempt;
  return {
    task,
    attempt,
    lease: { attemptId: attempt.id, epoch: 1 },
    repository,
    config,
    log: pino({ level: "warn" }),
  };
}
