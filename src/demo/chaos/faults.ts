import { readdir } from "node:fs/promises";
import os from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { Redis } from "ioredis";
import { getAttemptByNumber } from "../../db/attempts.ts";
import type { Db } from "../../db/client.ts";
import { findTaskByKey } from "../../db/tasks.ts";
import { integerBelow } from "../../lib/random.ts";
import { deleteQueueKeys } from "../../queue/redis.ts";
import type { DroverProcess } from "../drover-process.ts";
import type { DemoTask } from "../progress.ts";
import type { Stack } from "../stack.ts";

// The faults chaos lands on a run: planned from its seed, then injected into the running stack.

export type FaultKind = "kill" | "queue-flush" | "flushall" | "pg-restart" | "duplicate" | "reorder";

/** How many of each fault a run gets (at random moments in its first seconds, while its tasks run). */
// The faults' shape and defaults live apart, light, for `drover chaos --help`.
import type { ChaosFaults } from "./defaults.ts";

/** Faults land within this long of the labelling: the scenario alone takes about ten seconds. */
const FAULT_WINDOW_MS = 8_000;
const REPLACEMENT_TRIES = 20;

export type Planned = { kind: Exclude<FaultKind, "reorder">; atMs: number; done: boolean };

export type RunContext = {
  redisUrl: string;
  stack: Stack;
  db: Db;
  repoFullName: string;
  queuePrefix: string;
  databaseUrl: string;
  /** Picks victims and deliveries. */
  choose: () => number;
  startedAt: number;
  notes: string[];
  /** Worker processes started and not killed or exited (a killed one's leases outlive it until they lapse). */
  live: Set<DroverProcess>;
  /** Replacement workers starting. */
  replacements: Promise<void>[];
  say: (line: string) => void;
};

/** The faults of one run, each at a moment drawn from `random`; kills then wait for a running agent. */
export function planFaults(random: () => number, faults: ChaosFaults): Planned[] {
  const at = () => Math.round(random() * FAULT_WINDOW_MS);
  const many = (count: number, kind: Planned["kind"]) =>
    Array.from({ length: count }, (): Planned => ({ kind, atMs: at(), done: false }));
  return [
    ...many(faults.kills, "kill"),
    ...many(faults.queueFlushes, faults.flushAll ? "flushall" : "queue-flush"),
    ...many(faults.pgRestarts, "pg-restart"),
    ...many(faults.duplicates, "duplicate"),
  ].sort((a, b) => a.atMs - b.atMs);
}

/**
 * Injects one fault. Undefined: not now (a kill waits for a worker running an agent); "skipped": cannot
 * be injected here at all (noted); otherwise the tasks the fault hit, if it is known which.
 */
export async function inject(
  run: RunContext,
  kind: Planned["kind"],
  tasks: readonly DemoTask[],
): Promise<{ waitFor: Set<number> | null } | "skipped" | undefined> {
  const { stack } = run;
  switch (kind) {
    case "kill": {
      const running = await runningBy(run, tasks);
      if (running.size === 0) return undefined;
      const victims = [...running.keys()];
      const victim = victims[integerBelow(run.choose, victims.length)]!;
      const hit = running.get(victim)!;
      run.live.delete(victim);
      await victim.kill();
      run.say(
        `kill -9 worker ${victim.pid} (running ${hit.map((n) => `#${n}`).join(", ")}); starting another`,
      );
      replaceWorker(run);
      return { waitFor: new Set(hit) };
    }
    case "queue-flush":
      await deleteQueueKeys(run.redisUrl, run.queuePrefix);
      run.say(`queue emptied (keys under ${run.queuePrefix}:*)`);
      return { waitFor: null };
    case "flushall":
      await flushAll(run.redisUrl);
      run.say("FLUSHALL");
      return { waitFor: null };
    case "pg-restart": {
      const skipped = await restartPostgres(run.databaseUrl);
      if (skipped) {
        run.notes.push(`PostgreSQL restart skipped: ${skipped}`);
        return "skipped";
      }
      run.say("PostgreSQL restarted");
      return { waitFor: null };
    }
    case "duplicate": {
      const past = stack.sandbox.deliveries;
      if (past.length === 0) return undefined;
      const delivery = past[integerBelow(run.choose, past.length)]!;
      stack.sandbox.redeliver(delivery.id);
      run.say(`redelivered ${delivery.event}${delivery.action ? `.${delivery.action}` : ""} ${delivery.id}`);
      return { waitFor: null };
    }
  }
}

/**
 * Starts a worker in place of one that is gone, as a supervisor would: again a second later when it
 * exits before it is ready (as it does while PostgreSQL restarts).
 */
export function replaceWorker(run: RunContext): void {
  const starting = (async () => {
    for (let tries = 1; ; tries++) {
      try {
        run.live.add(await run.stack.startWorker());
        return;
      } catch (error) {
        if (tries === REPLACEMENT_TRIES) {
          run.notes.push(`no replacement worker started in ${tries} tries: ${(error as Error).message}`);
          return;
        }
        await sleep(1_000);
      }
    }
  })();
  run.replacements.push(starting);
}

/** Live worker processes holding the lease of a running task's attempt, with those tasks' numbers. */
async function runningBy(run: RunContext, tasks: readonly DemoTask[]): Promise<Map<DroverProcess, number[]>> {
  const byOwner = new Map<string, number[]>();
  for (const { number } of tasks.filter((t) => t.state === "running")) {
    const task = await findTaskByKey(run.db, run.repoFullName, number);
    const attempt = task && (await getAttemptByNumber(run.db, task.id, task.attemptCount));
    if (attempt?.state !== "running" || !attempt.leaseOwner) continue;
    byOwner.set(attempt.leaseOwner, [...(byOwner.get(attempt.leaseOwner) ?? []), number]);
  }
  const running = new Map<DroverProcess, number[]>();
  for (const worker of run.live) {
    // Workers name themselves `host:pid` when they take a lease.
    const numbers = byOwner.get(`${os.hostname()}:${worker.pid}`);
    if (numbers && !worker.exitedEarly) running.set(worker, numbers);
  }
  return running;
}

async function flushAll(redisUrl: string): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    await redis.flushall();
  } finally {
    redis.disconnect();
  }
}

/**
 * Restarts the PostgreSQL cluster on this machine that serves `databaseUrl`'s port (Debian's
 * pg_ctlcluster: the version from /etc/postgresql); returns why not when it cannot.
 */
async function restartPostgres(databaseUrl: string): Promise<string | undefined> {
  const url = new URL(databaseUrl);
  if (!["127.0.0.1", "localhost", "[::1]"].includes(url.hostname))
    return `PostgreSQL at ${url.hostname} is not on this machine`;
  const versions = await readdir("/etc/postgresql").catch(() => [] as string[]);
  if (versions.length === 0) return "no /etc/postgresql here (pg_ctlcluster manages no cluster)";
  const port = url.port || "5432";
  const listed = await execa("pg_lsclusters", ["--no-header"], { reject: false, timeout: 10_000 });
  const cluster = listed.stdout
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .find(([version, , clusterPort]) => clusterPort === port && versions.includes(version ?? ""));
  if (!cluster) return `no cluster under /etc/postgresql listens on port ${port}`;
  const [version = "", name = ""] = cluster;
  const result = await execa("pg_ctlcluster", ["--skip-systemctl-redirect", version, name, "restart"], {
    reject: false,
    timeout: 60_000,
    // Were chaos itself to stop mid-restart, the restart still finishes: never a server left down.
    cleanup: false,
  });
  if (result.failed)
    return `pg_ctlcluster ${version} ${name} restart failed: ${result.stderr || result.message}`;
  return undefined;
}
