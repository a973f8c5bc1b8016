import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { Redis } from "ioredis";
import { getAttemptByNumber, hasStep } from "../db/attempts.ts";
import { openDatabase, type Database, type Db } from "../db/client.ts";
import { dropDatabase, migrateDatabase } from "../db/migrate.ts";
import { findTaskByKey, taskSummaries } from "../db/tasks.ts";
import { assertRedisUsable, deleteQueueKeys } from "../queue/redis.ts";
import type { Sandbox } from "../sandbox/server.ts";
import { WebhookSender } from "../sandbox/webhooks.ts";
import type { DroverProcess } from "./drover-process.ts";
import { labelAll, mergePassing, personClient, seedRepository, type Person } from "./maintainer.ts";
import { demoTasks, settled, type DemoTask } from "./progress.ts";
import { SCRIPTED_AGENT } from "./run-demo.ts";
import { DEMO_ISSUES } from "./scenario.ts";
import { startStack, type Stack } from "./stack.ts";

/**
 * `drover chaos`: the demo's scenario run again and again while things go wrong at random moments, then
 * what Drover left behind counted. A run passes when every task is done, nothing was made twice, and
 * Drover resumed within MAX_RECOVERY_SECONDS of each fault.
 */

export type FaultKind = "kill" | "queue-flush" | "flushall" | "pg-restart" | "duplicate" | "reorder";

/** How many of each fault a run gets (at random moments in its first seconds, while its tasks run). */
export interface ChaosFaults {
  /** kill -9 of a worker process while it runs an agent; a replacement is started at once. Default 1. */
  kills: number;
  /** The run's queue emptied, as after a Redis restart without persistence. Default 1. */
  queueFlushes: number;
  /** Empty the queue with FLUSHALL: every key on that Redis goes, not only the run's. Default false. */
  flushAll: boolean;
  /** PostgreSQL restarted with pg_ctlcluster (skipped, with a note, where there is none). Default 0. */
  pgRestarts: number;
  /** Past deliveries sent again with their own ids (GitHub's "Redeliver"). Default 4. */
  duplicates: number;
  /** Chance that a delivery is held back and sent after the next one. Default 0.15. */
  reorderChance: number;
}

export const DEFAULT_FAULTS: ChaosFaults = {
  kills: 1,
  queueFlushes: 1,
  flushAll: false,
  pgRestarts: 0,
  duplicates: 4,
  reorderChance: 0.15,
};

export interface ChaosOptions {
  runs: number;
  /** Seeds the faults' moments and choices; run i uses seed + i. Default: random (printed). */
  seed?: number | undefined;
  /** PostgreSQL server and Redis to use (each run makes its own database and queue namespace on them). */
  databaseUrl: string;
  redisUrl: string;
  /** The throwaway database made for each run, and dropped after it. Default drover_chaos. */
  databaseName?: string;
  faults: ChaosFaults;
  /** A run that has not settled after this long ends, its unfinished tasks counted lost. Default 180 s. */
  timeoutMs?: number;
  /** Gets the final JSON line. */
  out: NodeJS.WritableStream;
  /** Gets the progress: the seed, each fault as it lands, a line per run. */
  log: (line: string) => void;
}

export type ChaosReport = {
  runs: number;
  tasks: number;
  tasksDone: number;
  lostTasks: number;
  duplicatePRs: number;
  duplicateComments: number;
  duplicatePushes: number;
  longestRecoverySeconds: number;
  seed: number;
  /** Faults injected, by kind ("reorder": deliveries held back). */
  faults: Partial<Record<FaultKind, number>>;
  ok: boolean;
};

/** Drover should be making progress again within this long of any fault. */
export const MAX_RECOVERY_SECONDS = 60;

const POLL_MS = 200;
const DEFAULT_TIMEOUT_MS = 180_000;
const STATUS_MARKER = "<!-- drover:status -->";
const ZERO_SHA = "0".repeat(40);
/** Faults land within this long of the labelling: the scenario alone takes about ten seconds. */
const FAULT_WINDOW_MS = 8_000;
const REPLACEMENT_TRIES = 20;

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const seed = options.seed ?? randomBytes(4).readUInt32BE();
  options.log(`chaos: ${options.runs} run(s), seed ${seed} (replay with --seed ${seed})`);
  await assertRedisUsable(options.redisUrl);
  const results: RunResult[] = [];
  for (let i = 0; i < options.runs; i++) {
    const runSeed = (seed + i) >>> 0;
    options.log(`run ${i + 1}/${options.runs}, seed ${runSeed}`);
    const result = await chaosRun(options, runSeed);
    options.log(describeRun(result));
    results.push(result);
  }
  const report = summarise(seed, results);
  options.out.write(`${JSON.stringify(report)}\n`);
  return report;
}

type Recovery = { kind: FaultKind; atMs: number; recoveryMs: number; recovered: boolean };

type RunResult = {
  tasks: DemoTask[];
  makespanMs: number;
  duplicatePRs: number;
  duplicateComments: number;
  duplicatePushes: number;
  recoveries: Recovery[];
  reorders: number;
  notes: string[];
};

type Planned = { kind: Exclude<FaultKind, "reorder">; atMs: number; done: boolean };

/** A fault still waiting for Drover to move on: `waitFor` tasks, or any task when null. */
type OpenFault = {
  kind: FaultKind;
  atMs: number;
  waitFor: Set<number> | null;
  before: Map<number, string>;
};

async function chaosRun(options: ChaosOptions, seed: number): Promise<RunResult> {
  const random = mulberry32(seed);
  const plan = planFaults(random, options.faults);
  const choose = mulberry32(seed ^ 0x5bd1e995);
  const reorderRandom = mulberry32(seed ^ 0x27d4eb2f);
  const dir = await mkdtemp(path.join(os.tmpdir(), "drover-chaos-"));
  const url = new URL(options.databaseUrl);
  url.pathname = `/${options.databaseName ?? "drover_chaos"}`;
  const databaseUrl = url.toString();
  const queuePrefix = `drover-chaos-${randomBytes(4).toString("hex")}`;
  let stack: Stack | undefined;
  let relay: Relay | undefined;
  let database: Database | undefined;
  let keepLogs = false;
  try {
    await dropDatabase(databaseUrl);
    await migrateDatabase(databaseUrl);
    stack = await startStack({
      dir,
      databaseUrl,
      redisUrl: options.redisUrl,
      queuePrefix,
      workers: 2,
      workerProcesses: 2,
    });
    let reorders = 0;
    relay = await startRelay({
      target: `http://127.0.0.1:${stack.env.PORT}/api/github/webhooks`,
      secret: stack.sandbox.webhookSecret,
      holdBack: () => {
        const hold = reorderRandom() < options.faults.reorderChance;
        if (hold) reorders++;
        return hold;
      },
    });
    stack.sandbox.setWebhookUrl(relay.url);
    database = openDatabase(databaseUrl, { max: 2 });

    const maintainer = personClient(stack.sandbox.urls.api, stack.sandbox.token("maintainer"));
    const { repo } = await seedRepository(maintainer, stack.sandbox.organization, {
      agentCommand: [process.execPath, SCRIPTED_AGENT],
      workers: 4,
    });
    const startedAt = Date.now();
    await labelAll(
      maintainer,
      repo,
      DEMO_ISSUES.map((issue) => issue.number),
    );
    const run: RunContext = {
      options,
      stack,
      db: database.db,
      repoFullName: `${repo.owner}/${repo.repo}`,
      queuePrefix,
      databaseUrl,
      choose,
      startedAt,
      notes: [],
      live: new Set(stack.workers),
      replacements: [],
      say: (line) => options.log(`  +${seconds(Date.now() - startedAt)} s ${line}`),
    };
    const { tasks, recoveries } = await drive(run, plan, maintainer, repo, options.timeoutMs);
    const makespanMs = Date.now() - startedAt;
    for (const fault of plan.filter((f) => !f.done))
      run.notes.push(
        `${fault.kind} planned at ${seconds(fault.atMs)} s was not injected: the run ended first`,
      );

    await stack.sandbox.webhooksSent();
    await relay.sender.idle();
    const refused = relay.sender.deliveries.filter((d) => d.status === null || d.status >= 300);
    if (refused.length > 0)
      run.notes.push(
        `Drover's web refused ${refused.length} deliveries (GitHub would not send them again): ` +
          refused.map((d) => `${d.event}.${d.action ?? ""} ${d.status ?? d.error}`).join(", "),
      );
    for (const task of tasks.filter((t) => t.state !== "done"))
      run.notes.push(
        `#${task.number} ended ${task.state}: ${onGitHub(stack.sandbox, run.repoFullName, task.number)}`,
      );
    const counts = await footprints(run.db, stack.sandbox, run.repoFullName);
    const result = { tasks, makespanMs, ...counts, recoveries, reorders, notes: run.notes };
    keepLogs = !held(result);
    if (keepLogs) run.notes.push(`the processes' logs and the sandbox's repositories are kept in ${dir}`);
    return result;
  } finally {
    await relay?.close().catch(() => {});
    await stack?.stop();
    await database?.close();
    if (!keepLogs) await rm(dir, { recursive: true, force: true });
    await dropDatabase(databaseUrl).catch(() => {});
  }
}

type RunContext = {
  options: ChaosOptions;
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

/** The maintainer's loop (merge what passes) while faults land, until the run settles or times out. */
async function drive(
  run: RunContext,
  plan: Planned[],
  maintainer: Person,
  repo: { owner: string; repo: string },
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<{ tasks: DemoTask[]; recoveries: Recovery[] }> {
  const { stack } = run;
  const read = async () =>
    demoTasks(DEMO_ISSUES, await taskSummaries(run.db, run.repoFullName), (pr) => `#${pr}`);
  let tasks = await read();
  const open: OpenFault[] = [];
  const recoveries: Recovery[] = [];
  let mergeTrouble = false;
  let ended: "settled" | "timeout" = "timeout";

  while (Date.now() - run.startedAt < timeoutMs) {
    if (stack.web.exitedEarly)
      throw new Error(`drover web stopped unexpectedly:\n${stack.web.output().slice(-4000)}`);
    for (const worker of run.live) {
      if (!worker.exitedEarly) continue;
      run.live.delete(worker);
      run.notes.push(`worker ${worker.pid} exited by itself:\n    ${lastWords(worker)}`);
      run.say(`worker ${worker.pid} exited by itself; starting a replacement`);
      replaceWorker(run);
    }

    const elapsed = Date.now() - run.startedAt;
    for (const fault of plan) {
      if (fault.done || fault.atMs > elapsed) continue;
      const before = await read().catch(() => tasks);
      const atMs = Date.now() - run.startedAt;
      const injected = await inject(run, fault.kind, before).catch((error: unknown) => {
        run.say(`${fault.kind} failed to inject (trying again): ${(error as Error).message}`);
        return undefined;
      });
      if (injected === undefined) continue;
      fault.done = true;
      if (injected === "skipped") continue;
      open.push({
        kind: fault.kind,
        atMs,
        waitFor: injected.waitFor,
        before: new Map(before.map((task) => [task.number, task.state])),
      });
    }

    try {
      await mergePassing(maintainer, repo);
    } catch (error) {
      if (!mergeTrouble) run.notes.push(`the maintainer could not merge: ${(error as Error).message}`);
      mergeTrouble = true;
    }
    try {
      tasks = await read();
    } catch {
      await sleep(POLL_MS); // PostgreSQL restarting
      continue;
    }

    const now = Date.now() - run.startedAt;
    for (const fault of [...open]) {
      if (!movedOn(fault, tasks)) continue;
      recoveries.push({ kind: fault.kind, atMs: fault.atMs, recoveryMs: now - fault.atMs, recovered: true });
      open.splice(open.indexOf(fault), 1);
    }
    if (settled(DEMO_ISSUES, tasks)) {
      ended = "settled";
      break;
    }
    await sleep(POLL_MS);
  }

  const end = Date.now() - run.startedAt;
  for (const fault of open)
    recoveries.push({
      kind: fault.kind,
      atMs: fault.atMs,
      recoveryMs: end - fault.atMs,
      recovered: ended === "settled",
    });
  if (ended === "timeout") run.notes.push(`timed out after ${seconds(timeoutMs)} s`);
  await Promise.all(run.replacements);
  return { tasks, recoveries };
}

/** Drover moved on from the fault: the tasks it hit reached review or done, or (none hit) any task did. */
function movedOn(fault: OpenFault, tasks: readonly DemoTask[]): boolean {
  const progressed = (state: string) => state === "review" || state === "done";
  if (fault.waitFor)
    return tasks.filter((t) => fault.waitFor!.has(t.number)).every((t) => progressed(t.state));
  return tasks.some((t) => progressed(t.state) && fault.before.get(t.number) !== t.state);
}

/**
 * Injects one fault. Undefined: not now (a kill waits for a worker running an agent); "skipped": cannot
 * be injected here at all (noted); otherwise the tasks the fault hit, if it is known which.
 */
async function inject(
  run: RunContext,
  kind: Planned["kind"],
  tasks: readonly DemoTask[],
): Promise<{ waitFor: Set<number> | null } | "skipped" | undefined> {
  const { stack, options } = run;
  switch (kind) {
    case "kill": {
      const running = await runningBy(run, tasks);
      if (running.size === 0) return undefined;
      const victims = [...running.keys()];
      const victim = victims[Math.floor(run.choose() * victims.length)]!;
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
      await deleteQueueKeys(options.redisUrl, run.queuePrefix);
      run.say(`queue emptied (keys under ${run.queuePrefix}:*)`);
      return { waitFor: null };
    case "flushall":
      await flushAll(options.redisUrl);
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
      const delivery = past[Math.floor(run.choose() * past.length)]!;
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
function replaceWorker(run: RunContext): void {
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

/**
 * What the run left on GitHub that should be there once and was made more than once:
 * - duplicate PRs: the app's pull requests that close an issue, beyond one per issue;
 * - duplicate comments: the app's status comments (`<!-- drover:status -->`) on an issue, beyond one;
 * - duplicate pushes: pushes that moved a task's branch (distinct deliveries: a redelivered webhook is
 *   not a second push; a branch deletion is not counted) beyond one per attempt that recorded a push.
 *   An attempt pushes at most once (its passing result, or the partial work of a run that timed out); a
 *   retry is a new attempt and may push again. One attempt pushing twice (e.g. a worker killed between
 *   its push and recording it, and its successor running the agent again) counts one duplicate.
 */
async function footprints(db: Db, sandbox: Sandbox, repoFullName: string) {
  const [owner = "", name = ""] = repoFullName.split("/");
  const world = sandbox.world.repo(owner, name);
  const bot = sandbox.world.app?.bot.login;
  let duplicatePRs = 0;
  let duplicateComments = 0;
  let duplicatePushes = 0;
  for (const { number } of DEMO_ISSUES) {
    const closes = new RegExp(`Closes #${number}\\b`);
    const pulls = [...(world?.issues.values() ?? [])].filter(
      (issue) => issue.pull && issue.user.login === bot && closes.test(issue.body ?? ""),
    );
    const comments = (world?.issues.get(number)?.comments ?? []).filter(
      (comment) => comment.user.login === bot && comment.body.includes(STATUS_MARKER),
    );
    duplicatePRs += Math.max(0, pulls.length - 1);
    duplicateComments += Math.max(0, comments.length - 1);

    const task = await findTaskByKey(db, repoFullName, number);
    if (!task) continue;
    const pushes = new Set(
      sandbox.deliveries
        .filter((d) => {
          const repository = d.payload.repository as { full_name?: string } | undefined;
          return (
            d.event === "push" &&
            repository?.full_name === repoFullName &&
            d.payload.ref === `refs/heads/${task.branch}` &&
            d.payload.after !== ZERO_SHA
          );
        })
        .map((d) => d.id),
    );
    let pushingAttempts = 0;
    for (let n = 1; n <= task.attemptCount; n++) {
      const attempt = await getAttemptByNumber(db, task.id, n);
      if (attempt && (await hasStep(db, attempt.id, "push"))) pushingAttempts++;
    }
    duplicatePushes += Math.max(0, pushes.size - pushingAttempts);
  }
  return { duplicatePRs, duplicateComments, duplicatePushes };
}

/** An unfinished task's pull request as GitHub (the sandbox) has it: what a person would look at. */
function onGitHub(sandbox: Sandbox, repoFullName: string, number: number): string {
  const [owner = "", name = ""] = repoFullName.split("/");
  const world = sandbox.world.repo(owner, name);
  const bot = sandbox.world.app?.bot.login;
  const closes = new RegExp(`Closes #${number}\\b`);
  const pull = [...(world?.issues.values() ?? [])].find(
    (issue) => issue.pull && issue.user.login === bot && closes.test(issue.body ?? ""),
  );
  if (!pull?.pull) return `no pull request; issue ${world?.issues.get(number)?.state ?? "missing"}`;
  const headSha = pull.pull.headSha;
  const check = world?.checkRuns.find((run) => run.name === "Drover" && run.headSha === headSha);
  return (
    `pull request #${pull.number} ${pull.pull.merged ? "merged" : pull.state}, ` +
    `check run ${check ? (check.conclusion ?? check.status) : "missing"}; issue ${world?.issues.get(number)?.state}`
  );
}

/** The faults of one run, each at a moment drawn from `random`; kills then wait for a running agent. */
function planFaults(random: () => number, faults: ChaosFaults): Planned[] {
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

type Relay = { url: string; sender: WebhookSender; close: () => Promise<void> };

/**
 * Between the sandbox and Drover's web: takes each delivery (answering at once) and sends it on, signed
 * again with the app's secret, through a WebhookSender that holds some back to reorder them.
 */
async function startRelay(opts: { target: string; secret: string; holdBack: () => boolean }): Promise<Relay> {
  const sender = new WebhookSender({
    url: opts.target,
    secret: opts.secret,
    hookId: 1,
    holdBack: opts.holdBack,
  });
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      let payload: Record<string, unknown>;
      try {
        payload = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
      } catch {
        response.writeHead(400).end();
        return;
      }
      sender.send(
        String(request.headers["x-github-event"] ?? ""),
        payload,
        String(request.headers["x-github-delivery"] ?? ""),
      );
      response.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    sender,
    close: async () => {
      await sender.idle();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
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

function summarise(seed: number, results: readonly RunResult[]): ChaosReport {
  const sum = (f: (r: RunResult) => number) => results.reduce((total, r) => total + f(r), 0);
  const recoveries = results.flatMap((r) => r.recoveries);
  const faults: Partial<Record<FaultKind, number>> = {};
  for (const { kind } of recoveries) faults[kind] = (faults[kind] ?? 0) + 1;
  const reorders = sum((r) => r.reorders);
  if (reorders > 0) faults.reorder = reorders;
  const tasks = sum((r) => r.tasks.length);
  const tasksDone = sum((r) => r.tasks.filter((t) => t.state === "done").length);
  const longest = Math.max(0, ...recoveries.map((r) => r.recoveryMs));
  const report = {
    runs: results.length,
    tasks,
    tasksDone,
    lostTasks: tasks - tasksDone,
    duplicatePRs: sum((r) => r.duplicatePRs),
    duplicateComments: sum((r) => r.duplicateComments),
    duplicatePushes: sum((r) => r.duplicatePushes),
    longestRecoverySeconds: Number(seconds(longest)),
    seed,
    faults,
  };
  return { ...report, ok: results.every(held) };
}

/** Every task done, nothing made twice, every fault recovered from in time. */
function held(result: RunResult): boolean {
  return (
    result.tasks.every((t) => t.state === "done") &&
    result.duplicatePRs + result.duplicateComments + result.duplicatePushes === 0 &&
    result.recoveries.every((r) => r.recovered && r.recoveryMs <= MAX_RECOVERY_SECONDS * 1000)
  );
}

function describeRun(result: RunResult): string {
  const done = result.tasks.filter((t) => t.state === "done").length;
  const faults = [...result.recoveries]
    .sort((a, b) => a.atMs - b.atMs)
    .map(
      (r) =>
        `${r.kind} at ${seconds(r.atMs)} s → ${r.recovered ? "" : "not recovered after "}${seconds(r.recoveryMs)} s`,
    );
  const lost = result.tasks.filter((t) => t.state !== "done").map((t) => `#${t.number} ${t.state}`);
  return [
    `  ${done}/${result.tasks.length} done in ${seconds(result.makespanMs)} s; ${result.reorders} deliveries held back`,
    `  faults (injected → recovered): ${faults.join(", ") || "none"}`,
    `  lost ${lost.length}${lost.length ? ` (${lost.join(", ")})` : ""}, duplicate PRs ${result.duplicatePRs}, ` +
      `duplicate status comments ${result.duplicateComments}, duplicate pushes ${result.duplicatePushes}`,
    ...result.notes.map((note) => `  note: ${note}`),
  ].join("\n");
}

/** What a worker printed as it died: its last lines that are not its JSON log (a crash's stack trace). */
function lastWords(worker: DroverProcess): string {
  const lines = worker.output().trim().split("\n");
  const plain = lines.filter((line) => !line.startsWith("{")).slice(-12);
  return (plain.length > 0 ? plain : lines.slice(-1)).join("\n    ");
}

const seconds = (ms: number) => (ms / 1000).toFixed(1);

/** mulberry32: small and seeded, so a run's faults can be planned again from its seed. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
