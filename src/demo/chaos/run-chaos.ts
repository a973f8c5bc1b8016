import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { openDatabase, type Database } from "../../db/client.ts";
import { dropDatabase, migrateDatabase } from "../../db/migrate.ts";
import { seeded } from "../../lib/random.ts";
import { assertRedisUsable } from "../../queue/redis.ts";
import { labelAll, personClient, seedRepository } from "../maintainer.ts";
import { seconds } from "../progress.ts";
import { SCRIPTED_AGENT } from "../run-demo.ts";
import { DEMO_ISSUES } from "../scenario.ts";
import { startStack, type Stack } from "../stack.ts";
import { drive } from "./drive.ts";
import type { ChaosFaults } from "./defaults.ts";
import { planFaults, type RunContext } from "./faults.ts";
import { footprints, onGitHub } from "./footprints.ts";
import { describeRun, held, summarise, type ChaosReport, type RunResult } from "./report.ts";
import { startRelay, type Relay } from "./webhook-relay.ts";
import { DEFAULT_CHAOS_TIMEOUT_MS } from "./defaults.ts";

/**
 * `drover chaos`: the demo's scenario run again and again while things go wrong at random moments, then
 * what Drover left behind counted. A run passes when every task is done, nothing was made twice, and
 * Drover resumed within MAX_RECOVERY_SECONDS of each fault.
 */

// ChaosOptions.timeoutMs when none is given, and the CLI's --timeout default.
export interface ChaosOptions {
  runs: number;
  /** Seeds the faults' moments and choices; run i uses seed + i. Default: random (printed). */
  seed?: number | undefined;
  /** PostgreSQL server and Redis to use (each run makes its own database and queue namespace on them). */
  databaseUrl: string;
  redisUrl: string;
  /** The throwaway database made for each run, and dropped after it. Default drover_chaos. */
  databaseName?: string;
  /** DROVER_LEASE_MS for Drover's processes (how soon a killed worker's task is taken over). Default: unset. */
  leaseMs?: number | undefined;
  faults: ChaosFaults;
  /** A run that has not settled after this long ends, its unfinished tasks counted lost. Default 180 s. */
  timeoutMs?: number;
  /** Gets the final JSON line. */
  out: NodeJS.WritableStream;
  /** Gets the progress: the seed, each fault as it lands, a line per run. */
  log: (line: string) => void;
}

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

async function chaosRun(options: ChaosOptions, seed: number): Promise<RunResult> {
  const random = seeded(seed);
  const plan = planFaults(random, options.faults);
  const choose = seeded(seed ^ 0x5bd1e995);
  const reorderRandom = seeded(seed ^ 0x27d4eb2f);
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
      ...(options.leaseMs === undefined ? {} : { env: { DROVER_LEASE_MS: String(options.leaseMs) } }),
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
      redisUrl: options.redisUrl,
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
    const { tasks, recoveries } = await drive(
      run,
      plan,
      maintainer,
      repo,
      options.timeoutMs ?? DEFAULT_CHAOS_TIMEOUT_MS,
    );
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
