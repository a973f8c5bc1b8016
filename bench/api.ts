/**
 * GitHub API economy: what Drover asks of GitHub per task, measured where GitHub would count it. The
 * sandbox stands in for GitHub and records every request it serves; Drover's real web and worker
 * processes run against it (the code path production runs), with the demo's scripted agent. A maintainer
 * (a person's token: not counted as Drover's) creates the issues, links and labels them, and merges the
 * pull requests whose check passed.
 *
 * 1. 100 independent tasks, from the issues being opened to every task done;
 * 2. a 200-task graph (362 blocked-by links in 10 layers), opened, linked and labelled; once it has
 *    settled with nothing merged (its first layer in review, the rest waiting), reconcile passes are run
 *    on it, back to back: the first, then six more (an hour's worth at one pass every 10 minutes); then
 *    the maintainer merges until every task is done.
 *
 * Prints requests, reads, writes and content-generating writes per task by route (for each part and
 * both together; reconcile's passes are not in the per-task figures), reconcile's cost per open task per
 * hour, and the tasks an hour one installation could carry under GitHub's limits. Status edits Drover
 * deferred (the budget ran low) and still owes at the end of a part, or that the reconcile passes (left
 * out of the part) made, are counted as content writes of that part: deferring spreads writes, it does
 * not save them. The worker's own scheduled reconcile is kept out of the parts (DROVER_RECONCILE_EVERY_MS set
 * past the run), so the parts measure the tasks. Last line: JSON.
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { readEnv } from "../src/config/env.ts";
import { DEFAULT_LABEL } from "../src/config/schema.ts";
import { openDatabase, type Database } from "../src/db/client.ts";
import { owedWrites } from "../src/db/last-written.ts";
import { dropDatabase, migrateDatabase } from "../src/db/migrate.ts";
import { taskSummaries, type TaskSummary } from "../src/db/tasks.ts";
import { labelAll, mergePassing, personClient, seedRepository, type Person } from "../src/demo/maintainer.ts";
import { SCRIPTED_AGENT } from "../src/demo/run-demo.ts";
import { startStack, type Stack } from "../src/demo/stack.ts";
import { issueKey } from "../src/graph/model.ts";
import { integerBelow, seeded } from "../src/lib/random.ts";
import { enqueuer, jobIdOf } from "../src/queue/job-catalog.ts";
import { WorkQueue } from "../src/queue/queue.ts";
import { assertRedisUsable, connectRedis } from "../src/queue/redis.ts";
import type { RequestRecord } from "../src/sandbox/accounting.ts";
import { RECONCILE_EVERY_MS } from "../src/scheduler/watchdog.ts";
import { round } from "./stats.ts";

/** `DROVER_BENCH_API_SIZE=small`: a tenth of the work, for trying a change quickly (not the figures to quote). */
const SMALL = process.env.DROVER_BENCH_API_SIZE === "small";
const INDEPENDENT_TASKS = SMALL ? 10 : 100;
const GRAPH_TASKS = SMALL ? 20 : 200;
const GRAPH_LINKS = SMALL ? 36 : 362;
const GRAPH_LAYERS = SMALL ? 4 : 10;
/** Agent runs at once: DROVER_WORKERS and the repository's max_workers. */
const WORKERS = 8;
/** Reconcile passes after the first, on the settled graph: an hour's worth at production's pace. */
const RECONCILE_PASSES = Math.round((60 * 60_000) / RECONCILE_EVERY_MS);
/**
 * The worker's own reconcile (DROVER_RECONCILE_EVERY_MS): once at its start, before anything is measured,
 * and next a day later, past the run; the bench runs its passes itself, and counts them apart.
 */
const WORKER_RECONCILE_EVERY_MS = 24 * 60 * 60_000;
/** Drover is done with a change once it has made no request for this long. */
const QUIET_MS = 2_000;
const PART_TIMEOUT_MS = 600_000;

/** GitHub's limits for one installation (REST, primary) and its content-creation (secondary) limits. */
const LIMITS = { primaryPerHour: 5_000, contentPerHour: 500, contentPerMinute: 80 };
const TARGETS = {
  requestsPerTask: 15,
  contentWritesPerTask: 6,
  reconcileNon304PerOpenTaskPerHour: 1,
  tasksPerHourSecondary: 80,
  tasksPerHourPrimary: 300,
};

type Repo = { owner: string; repo: string };

/** Drover's requests: its installation's token, and the app's JWT (installation tokens). */
const isDrovers = (r: RequestRecord) => r.actor === "installation" || r.actor === "app";

type Tally = {
  requests: number;
  /** Counted against the installation's primary limit (not 304s, not the app's JWT requests). */
  counted: number;
  reads: number;
  writes: number;
  contentWrites: number;
  notModified: number;
};

type PartFigures = {
  tasks: number;
  seconds: number;
  total: Tally;
  perTask: Tally;
  byRoute: Record<string, Tally>;
  git: { fetchesPerTask: number; pushesPerTask: number };
  states: Record<string, number>;
  /**
   * Reconcile passes the worker ran on its own inside the part (their listing of issues): none is
   * expected (see WORKER_RECONCILE_EVERY_MS); if one is, its requests are counted.
   */
  scheduledReconciles: number;
  /** Status or story edits deferred and still owed (issues with an edit owed), counted as content writes. */
  owedEdits: number;
  /** Content writes per task with the owed edits: what is held to the target. */
  contentWritesPerTaskInclOwed: number;
};

function tally(records: readonly RequestRecord[]): Tally {
  const api = records.filter((r) => r.kind !== "git");
  return {
    requests: api.length,
    counted: api.filter((r) => r.counted && r.actor === "installation").length,
    reads: api.filter((r) => r.method === "GET").length,
    writes: api.filter((r) => r.method !== "GET").length,
    contentWrites: api.filter((r) => r.contentGenerating).length,
    notModified: api.filter((r) => r.notModified).length,
  };
}

const per = (t: Tally, n: number): Tally =>
  Object.fromEntries(Object.entries(t).map(([k, v]) => [k, round(v / Math.max(1, n), 2)])) as Tally;

function figures(
  records: readonly RequestRecord[],
  tasks: number,
  seconds: number,
  states: Record<string, number>,
  owedEdits: number,
) {
  const drovers = records.filter(isDrovers);
  const total = tally(drovers);
  const routes = new Map<string, RequestRecord[]>();
  for (const r of drovers.filter((r) => r.kind !== "git")) {
    const key = `${r.method} ${r.route}`;
    routes.set(key, [...(routes.get(key) ?? []), r]);
  }
  const byRoute = Object.fromEntries(
    [...routes.entries()]
      .sort((a, b) => b[1].length - a[1].length)
      .map(([route, list]) => [route, per(tally(list), tasks)]),
  );
  const git = drovers.filter((r) => r.kind === "git");
  const part: PartFigures = {
    tasks,
    seconds: round(seconds, 1),
    total,
    perTask: per(total, tasks),
    byRoute,
    git: {
      fetchesPerTask: round(git.filter((r) => r.route === "/git-upload-pack").length / tasks, 2),
      pushesPerTask: round(git.filter((r) => r.route === "/git-receive-pack").length / tasks, 2),
    },
    states,
    scheduledReconciles: drovers.filter(
      (r) => r.method === "GET" && r.route === "/repos/{owner}/{repo}/issues" && r.actor === "installation",
    ).length,
    owedEdits,
    contentWritesPerTaskInclOwed: round((total.contentWrites + owedEdits) / tasks, 2),
  };
  return part;
}

/** Tasks an hour one installation could carry, by each limit, at `perTask`. */
function implied(perTask: Tally) {
  const byPrimary = LIMITS.primaryPerHour / Math.max(perTask.counted, 0.01);
  const bySecondaryHour = LIMITS.contentPerHour / Math.max(perTask.contentWrites, 0.01);
  const bySecondaryMinute = (LIMITS.contentPerMinute * 60) / Math.max(perTask.contentWrites, 0.01);
  return {
    byPrimary: Math.floor(byPrimary),
    bySecondary: Math.floor(Math.min(bySecondaryHour, bySecondaryMinute)),
    tasksPerHour: Math.floor(Math.min(byPrimary, bySecondaryHour, bySecondaryMinute)),
  };
}

type NewIssue = {
  title: string;
  body: string;
  /** Blockers, as indexes into the same list. */
  blockedBy: number[];
};

/** `count` independent issues: each asks the scripted agent for a file of its own. */
function independentIssues(count: number): NewIssue[] {
  return Array.from({ length: count }, (_, i) => ({
    title: `Independent task ${i + 1}`,
    body: `Add module ${i + 1}.\n\n\`\`\`js file=src/independent/task-${i + 1}.js\nexport const task${i + 1} = ${i + 1};\n\`\`\``,
    blockedBy: [],
  }));
}

/**
 * A graph of `count` issues in `layers` layers; each issue past the first layer is blocked by one to
 * three issues of the two layers before it, `links` links in all. Seeded: the same graph every run.
 */
function graphIssues(count: number, layers: number, links: number): NewIssue[] {
  const random = seeded(15);
  const width = Math.ceil(count / layers);
  const layerOf = (i: number) => Math.floor(i / width);
  const blockedBy: Set<number>[] = Array.from({ length: count }, () => new Set<number>());
  // Every issue past the first layer has one blocker in the layer before, then links are spread at random.
  for (let i = width; i < count; i++)
    blockedBy[i]!.add((layerOf(i) - 1) * width + integerBelow(random, width));
  let made = count - width;
  while (made < links) {
    const i = width + integerBelow(random, count - width);
    const from = Math.max(0, layerOf(i) - 2) * width;
    const blocker = from + integerBelow(random, layerOf(i) * width - from);
    if (blockedBy[i]!.has(blocker) || blockedBy[i]!.size >= 3) continue;
    blockedBy[i]!.add(blocker);
    made += 1;
  }
  return Array.from({ length: count }, (_, i) => ({
    title: `Graph task ${i + 1}`,
    body: `Layer ${layerOf(i) + 1} of the graph.\n\n\`\`\`js file=src/graph/task-${i + 1}.js\nexport const graphTask${i + 1} = ${i + 1};\n\`\`\``,
    blockedBy: [...blockedBy[i]!].sort((a, b) => a - b),
  }));
}

class Bench {
  constructor(
    readonly stack: Stack,
    readonly maintainer: Person,
    readonly repo: Repo,
    readonly database: Database,
    readonly queue: WorkQueue,
  ) {}

  get requests(): RequestRecord[] {
    return this.stack.sandbox.requests;
  }

  /**
   * Creates the issues and their links, as a maintainer would; returns their numbers. (The maintainer is
   * a person acting on the sandbox, as in src/demo/maintainer.ts, not Drover: hence the lint exceptions.)
   */
  async open(issues: NewIssue[]): Promise<number[]> {
    const made: { number: number; id: number }[] = [];
    for (const issue of issues) {
      // eslint-disable-next-line no-restricted-syntax -- a person's write, not Drover's
      const { data } = await this.maintainer.rest.issues.create({
        ...this.repo,
        title: issue.title,
        body: issue.body,
      });
      made.push({ number: data.number, id: data.id });
    }
    for (const [i, issue] of issues.entries())
      for (const blocker of issue.blockedBy)
        // eslint-disable-next-line no-restricted-syntax -- a person's write, not Drover's
        await this.maintainer.rest.issues.addBlockedByDependency({
          ...this.repo,
          issue_number: made[i]!.number,
          issue_id: made[blocker]!.id,
        });
    return made.map((m) => m.number);
  }

  async tasks(numbers: readonly number[]): Promise<TaskSummary[]> {
    const wanted = new Set(numbers);
    return (await taskSummaries(this.database.db, `${this.repo.owner}/${this.repo.repo}`)).filter((t) =>
      wanted.has(t.number),
    );
  }

  async states(numbers: readonly number[]): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const task of await this.tasks(numbers)) counts[task.state] = (counts[task.state] ?? 0) + 1;
    return counts;
  }

  /** Those of these issues with a status (or story) edit owed now: deferred, not yet made. */
  async owed(numbers: readonly number[]): Promise<Set<string>> {
    const keys = new Set(numbers.map((n) => issueKey(`${this.repo.owner}/${this.repo.repo}`, n)));
    return new Set((await owedWrites(this.database.db, 1_000_000)).filter((key) => keys.has(key)));
  }

  checkProcesses(): void {
    for (const p of [this.stack.web, ...this.stack.workers])
      if (p.exitedEarly)
        throw new Error(`drover ${p.role} stopped unexpectedly:\n${p.output().slice(-4000)}`);
  }

  /**
   * Waits until every webhook has been sent, no job is waiting or running, and Drover has made no request
   * for QUIET_MS.
   */
  async quiet(): Promise<void> {
    for (;;) {
      this.checkProcesses();
      await this.stack.sandbox.webhooksSent();
      const counts = await this.queue.counts();
      if ((counts.wait ?? 0) + (counts.active ?? 0) > 0) {
        await sleep(100);
        continue;
      }
      const last = this.requests.findLast(isDrovers)?.at ?? 0;
      const idle = Date.now() - last;
      if (idle >= QUIET_MS) return;
      await sleep(QUIET_MS - idle + 10);
    }
  }

  /**
   * Until `done` says so of the tasks: the maintainer merges what passed (when `merge`), round after
   * round. Throws past the timeout, saying where the tasks were.
   */
  async until(
    numbers: readonly number[],
    done: (tasks: TaskSummary[]) => boolean,
    merge: boolean,
  ): Promise<void> {
    const deadline = Date.now() + PART_TIMEOUT_MS;
    for (;;) {
      this.checkProcesses();
      if (merge) await mergePassing(this.maintainer, this.repo);
      const tasks = await this.tasks(numbers);
      if (tasks.length === numbers.length && done(tasks)) return;
      if (Date.now() > deadline)
        throw new Error(
          `tasks did not settle within ${PART_TIMEOUT_MS / 1000} s: ${JSON.stringify(await this.states(numbers))}`,
        );
      await sleep(500);
    }
  }
}

const STUCK = new Set(["failed", "blocked", "cancelled", "paused"]);
const allDone = (tasks: TaskSummary[]) => tasks.every((t) => t.state === "done" || STUCK.has(t.state));
const settledUnmerged = (tasks: TaskSummary[]) =>
  tasks.every((t) => t.state === "review" || t.state === "waiting" || STUCK.has(t.state));

type Pass = {
  requests: number;
  counted: number;
  notModified: number;
  contentWrites: number;
  seconds: number;
};

/** One reconcile pass, queued as the watchdog queues it; its cost is every request until Drover is quiet. */
async function reconcilePass(bench: Bench, enqueue: ReturnType<typeof enqueuer>): Promise<Pass> {
  const from = bench.requests.length;
  const started = Date.now();
  await enqueue("reconcile", { at: started });
  // The pass is over once its own job is and the sync jobs it queued (and what they queued) are.
  const jobId = jobIdOf("reconcile", { at: started });
  while (!["completed", "failed", "unknown"].includes(await bench.queue.state("main", jobId)))
    await sleep(50);
  await bench.quiet();
  const t = tally(bench.requests.slice(from).filter(isDrovers));
  return {
    requests: t.requests,
    counted: t.counted,
    notModified: t.notModified,
    contentWrites: t.contentWrites,
    seconds: round((Date.now() - started - QUIET_MS) / 1000, 1),
  };
}

function printPart(name: string, part: PartFigures): void {
  const p = part.perTask;
  console.log(
    `\n${name}: ${part.tasks} tasks in ${part.seconds} s (${Object.entries(part.states)
      .map(([s, n]) => `${n} ${s}`)
      .join(", ")})`,
  );
  console.log(
    `  per task: ${p.requests} requests (${p.counted} counted; ${p.notModified} were 304), ${p.reads} reads, ` +
      `${p.writes} writes, ${p.contentWrites} content-generating; git: ${part.git.fetchesPerTask} fetches, ${part.git.pushesPerTask} pushes`,
  );
  console.log(
    `  owed (deferred) status edits: ${part.owedEdits} (${round(part.owedEdits / Math.max(1, part.tasks), 2)} per task); ` +
      `content writes per task incl. ${part.owedEdits} owed edits: ${part.contentWritesPerTaskInclOwed}`,
  );
  if (part.scheduledReconciles > 0)
    console.log(
      `  (includes ${part.scheduledReconciles} listing(s) by the worker's own reconcile, set to every ${WORKER_RECONCILE_EVERY_MS / 60_000} min)`,
    );
  console.log(`  ${["per task", "reads", "writes", "content", "304", "route"].join("\t")}`);
  for (const [route, t] of Object.entries(part.byRoute))
    console.log(`  ${[t.requests, t.reads, t.writes, t.contentWrites, t.notModified, route].join("\t")}`);
}

export async function run(): Promise<void> {
  const env = readEnv();
  await assertRedisUsable(env.REDIS_URL);
  const databaseUrl = new URL(env.DATABASE_URL);
  databaseUrl.pathname = `/drover_bench_api_${randomBytes(3).toString("hex")}`;
  const queuePrefix = `drover-bench-api-${randomBytes(4).toString("hex")}`;
  const dir = await mkdtemp(path.join(os.tmpdir(), "drover-bench-api-"));
  await migrateDatabase(databaseUrl.toString());
  let stack: Stack | undefined;
  let database: Database | undefined;
  const redis = connectRedis(env.REDIS_URL);
  const queue = new WorkQueue(redis, queuePrefix, (error) => console.error(error.message));
  try {
    stack = await startStack({
      dir,
      databaseUrl: databaseUrl.toString(),
      redisUrl: env.REDIS_URL,
      queuePrefix,
      workers: WORKERS,
      env: { DROVER_RECONCILE_EVERY_MS: String(WORKER_RECONCILE_EVERY_MS) },
    });
    database = openDatabase(databaseUrl.toString(), { max: 2 });
    const maintainer = personClient(stack.sandbox.urls.api, stack.sandbox.token("maintainer"));
    const agentState = path.join(dir, "agent-state");
    await mkdir(agentState, { recursive: true });
    const { repo } = await seedRepository(
      maintainer,
      stack.sandbox.organization,
      { agentCommand: [process.execPath, SCRIPTED_AGENT, agentState], workers: WORKERS },
      [],
    );
    const bench = new Bench(stack, maintainer, repo, database, queue);
    console.log(
      `api: Drover's web and worker (${WORKERS} agent runs at once, the scripted agent) against the sandbox; ` +
        `counting every request Drover's installation and app make`,
    );
    await bench.quiet();

    // 1. Independent tasks, from the issues being opened to every task done.
    let from = bench.requests.length;
    let started = Date.now();
    const independent = await bench.open(independentIssues(INDEPENDENT_TASKS));
    await labelAll(maintainer, repo, independent, DEFAULT_LABEL);
    await bench.until(independent, allDone, true);
    await bench.quiet();
    const partA = figures(
      bench.requests.slice(from),
      INDEPENDENT_TASKS,
      (Date.now() - started - QUIET_MS) / 1000,
      await bench.states(independent),
      (await bench.owed(independent)).size,
    );
    printPart(`independent`, partA);

    // 2. The graph: opened, linked, labelled; settled with nothing merged; reconcile; then merged to the end.
    from = bench.requests.length;
    started = Date.now();
    const graph = await bench.open(graphIssues(GRAPH_TASKS, GRAPH_LAYERS, GRAPH_LINKS));
    await labelAll(maintainer, repo, graph, DEFAULT_LABEL);
    await bench.until(graph, settledUnmerged, false);
    await bench.quiet();
    const beforeReconcile = bench.requests.length;
    const reconcileStarted = Date.now();
    const openTasks = (await bench.tasks(graph)).filter((t) => t.state !== "done").length;
    const settledStates = await bench.states(graph);
    const owedBeforeReconcile = await bench.owed(graph);
    const enqueue = enqueuer(queue);
    const firstPass = await reconcilePass(bench, enqueue);
    const passes: Pass[] = [];
    for (let i = 0; i < RECONCILE_PASSES; i++) passes.push(await reconcilePass(bench, enqueue));
    const afterReconcile = bench.requests.length;
    // Edits owed before the passes and made by them (their requests are left out of the part): the part's.
    const owedAfterReconcile = await bench.owed(graph);
    const repaidByReconcile = [...owedBeforeReconcile].filter((key) => !owedAfterReconcile.has(key)).length;
    const reconcileMs = Date.now() - reconcileStarted;
    await bench.until(graph, allDone, true);
    await bench.quiet();
    const graphRecords = [
      ...bench.requests.slice(from, beforeReconcile),
      ...bench.requests.slice(afterReconcile),
    ];
    const partB = figures(
      graphRecords,
      GRAPH_TASKS,
      (Date.now() - started - reconcileMs - QUIET_MS) / 1000,
      await bench.states(graph),
      repaidByReconcile + (await bench.owed(graph)).size,
    );
    printPart(`graph (${GRAPH_LINKS} links, ${GRAPH_LAYERS} layers; reconcile's passes left out)`, partB);

    const hour = (field: keyof Pass) => passes.reduce((sum, p) => sum + p[field], 0);
    const reconcile = {
      openTasks,
      settledStates,
      passesPerHour: RECONCILE_PASSES,
      firstPass,
      passes,
      perOpenTaskPerHour: {
        requests: round(hour("requests") / openTasks, 2),
        non304: round(hour("counted") / openTasks, 2),
        contentWrites: round(hour("contentWrites") / openTasks, 2),
      },
      firstPassPerOpenTask: round(firstPass.counted / openTasks, 2),
    };
    const openTasksReconcileAloneExhausts = Math.floor(
      LIMITS.primaryPerHour / Math.max(reconcile.perOpenTaskPerHour.non304, 0.001),
    );
    console.log(
      `\nreconcile on the settled graph (${openTasks} open tasks: ${Object.entries(settledStates)
        .map(([s, n]) => `${n} ${s}`)
        .join(", ")}), passes back to back:`,
    );
    console.log(
      `  first pass: ${firstPass.requests} requests (${firstPass.counted} counted, ${firstPass.notModified} 304), ` +
        `${firstPass.contentWrites} content writes, ${firstPass.seconds} s`,
    );
    console.log(
      `  next ${RECONCILE_PASSES} (an hour at one every ${RECONCILE_EVERY_MS / 60_000} min): ${passes
        .map((p) => `${p.requests}/${p.notModified}`)
        .join(", ")} requests/304s`,
    );
    console.log(
      `  per open task per hour: ${reconcile.perOpenTaskPerHour.requests} requests, ${reconcile.perOpenTaskPerHour.non304} not 304 ` +
        `(target ≤ ${TARGETS.reconcileNon304PerOpenTaskPerHour}), ${reconcile.perOpenTaskPerHour.contentWrites} content writes; ` +
        `reconcile alone would use up ${LIMITS.primaryPerHour}/h at ${openTasksReconcileAloneExhausts} open tasks`,
    );

    const headline = per(
      {
        requests: partA.total.requests + partB.total.requests,
        counted: partA.total.counted + partB.total.counted,
        reads: partA.total.reads + partB.total.reads,
        writes: partA.total.writes + partB.total.writes,
        contentWrites: partA.total.contentWrites + partB.total.contentWrites,
        notModified: partA.total.notModified + partB.total.notModified,
      },
      INDEPENDENT_TASKS + GRAPH_TASKS,
    );
    // Owed edits are content writes yet to be made: held to the target and the content limit with the rest.
    const owedEdits = partA.owedEdits + partB.owedEdits;
    const contentWritesInclOwed = round(
      (partA.total.contentWrites + partB.total.contentWrites + owedEdits) / (INDEPENDENT_TASKS + GRAPH_TASKS),
      2,
    );
    const capacity = implied({ ...headline, contentWrites: contentWritesInclOwed });
    console.log(
      `\nall ${INDEPENDENT_TASKS + GRAPH_TASKS} tasks: ${headline.requests} requests per task (target ≤ ${TARGETS.requestsPerTask}; ` +
        `${headline.counted} counted), ${contentWritesInclOwed} content writes per task incl. ${owedEdits} owed edits ` +
        `(${headline.contentWrites} made; target ≤ ${TARGETS.contentWritesPerTask})`,
    );
    console.log(
      `implied tasks an hour per installation: ${capacity.byPrimary} by the primary limit (${LIMITS.primaryPerHour}/h; target ≥ ${TARGETS.tasksPerHourPrimary}), ` +
        `${capacity.bySecondary} by the content limit (${LIMITS.contentPerHour}/h, ${LIMITS.contentPerMinute}/min; target ≥ ${TARGETS.tasksPerHourSecondary}): ${capacity.tasksPerHour}`,
    );
    const met = {
      requestsPerTask: headline.requests <= TARGETS.requestsPerTask,
      contentWritesPerTask: contentWritesInclOwed <= TARGETS.contentWritesPerTask,
      reconcile: reconcile.perOpenTaskPerHour.non304 <= TARGETS.reconcileNon304PerOpenTaskPerHour,
      tasksPerHourSecondary: capacity.bySecondary >= TARGETS.tasksPerHourSecondary,
      tasksPerHourPrimary: capacity.byPrimary >= TARGETS.tasksPerHourPrimary,
    };
    console.log(
      JSON.stringify({
        bench: "api",
        workers: WORKERS,
        perTask: {
          ...headline,
          owedEdits: round(owedEdits / (INDEPENDENT_TASKS + GRAPH_TASKS), 2),
          contentWritesInclOwed,
        },
        implied: capacity,
        reconcile: { ...reconcile, openTasksReconcileAloneExhausts },
        independent: partA,
        graph: { ...partB, links: GRAPH_LINKS, layers: GRAPH_LAYERS },
        limits: LIMITS,
        targets: TARGETS,
        met: { ...met, all: Object.values(met).every(Boolean) },
      }),
    );
  } finally {
    await database?.close();
    await stack?.stop();
    await queue.close();
    redis.disconnect();
    await dropDatabase(databaseUrl.toString()).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}
