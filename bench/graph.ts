/**
 * The scheduling pass production runs, at scale: PostgreSQL holding 10,000 tasks and 30,000 edges (a
 * random DAG plus a few cycles, 30% done), real BullMQ queues on Redis. Prints the time from one change
 * (a running task's issue closed as completed: its dependents may become ready and its worker slot frees)
 * to the next tasks' run jobs being queued, over many such changes (p50/p99), and a full rebuild: a
 * process with no graph in memory loading it all and making a pass that finds nothing to change. The
 * ratio of the two says what keeping the graph in memory buys.
 */
import { randomBytes } from "node:crypto";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import pino from "pino";
import { DroverConfig } from "../src/config/schema.ts";
import { readEnv } from "../src/config/env.ts";
import { openDatabase, type Database } from "../src/db/client.ts";
import { bumpGeneration, upsertIssue } from "../src/db/graph-rows.ts";
import { dropDatabase, migrateDatabase } from "../src/db/migrate.ts";
import { dependencies, issues, repositories, tasks } from "../src/db/schema.ts";
import { transitionTask } from "../src/db/tasks.ts";
import { enqueuer } from "../src/queue/job-catalog.ts";
import { WorkQueue } from "../src/queue/queue.ts";
import { connectRedis, deleteQueueKeys } from "../src/queue/redis.ts";
import { schedulePass, type ScheduleDeps } from "../src/scheduler/schedule.ts";
import { integerBelow, seeded } from "../src/lib/random.ts";
import { percentile, round } from "./stats.ts";

const TASKS = 10_000;
const EDGES = 30_000;
const CYCLES = 5;
const EVENTS = 300;
const REBUILDS = 5;
/** Worker slots: the tasks queued at once. Each event frees one. */
const CAPACITY = 16;
const REPO = { id: 1, installationId: 1, fullName: "bench/graph" };
const TARGETS = { eventP50Ms: 50, eventP99Ms: 200, rebuildMs: 1000 };

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

function heapMb(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

type Seed = {
  issueRows: (typeof issues.$inferInsert)[];
  taskRows: (typeof tasks.$inferInsert)[];
  edgeRows: (typeof dependencies.$inferInsert)[];
};

/**
 * Most blockers are recent issues (within 200 numbers), some anywhere earlier, as in a real backlog;
 * 30% of tasks are done, a few issues closed as not planned or unreadable; cycles are short back edges.
 */
function generate(random: () => number): Seed {
  const key = (n: number) => `${REPO.fullName}#${n}`;
  const config = DroverConfig.parse({ max_workers: CAPACITY });
  const synced = new Date();
  const issueRows: Seed["issueRows"] = [];
  const taskRows: Seed["taskRows"] = [];
  const inCycle = new Set<number>();
  const edgeRows: Seed["edgeRows"] = [];
  const seen = new Set<string>();
  const addEdge = (dependent: number, blocker: number) => {
    const id = `${dependent} ${blocker}`;
    if (dependent === blocker || seen.has(id)) return;
    seen.add(id);
    const source = (["native", "native", "native", "body", "sub-issue"] as const)[integerBelow(random, 5)]!;
    edgeRows.push({ dependent: key(dependent), blocker: key(blocker), source });
  };
  for (let c = 0; c < CYCLES; c++) {
    const start = 1 + integerBelow(random, TASKS - 10);
    const length = 2 + c;
    for (let i = 0; i < length; i++) {
      inCycle.add(start + i);
      addEdge(start + i, i === length - 1 ? start : start + i + 1);
    }
  }
  while (edgeRows.length < EDGES) {
    const dependent = 2 + integerBelow(random, TASKS - 1);
    const blocker =
      random() < 0.8
        ? Math.max(1, dependent - 1 - integerBelow(random, 200))
        : 1 + integerBelow(random, dependent - 1);
    addEdge(dependent, blocker);
  }
  for (let n = 1; n <= TASKS; n++) {
    const roll = inCycle.has(n) ? 1 : random();
    const done = roll < 0.3;
    const notPlanned = !done && roll < 0.31;
    const unreadable = !done && !notPlanned && roll < 0.315;
    issueRows.push({
      key: key(n),
      installationId: REPO.installationId,
      repoFullName: REPO.fullName,
      number: n,
      title: `Task ${n}`,
      state: done || notPlanned ? "closed" : "open",
      closedAs: done ? "completed" : notPlanned ? "not_planned" : null,
      readable: !unreadable,
      unreadableReason: unreadable ? "is in a repository the app is not installed on" : null,
      githubCreatedAt: new Date(Date.UTC(2026, 0, 1) + n * 60_000),
      linksSyncedAt: synced,
    });
    if (notPlanned || unreadable) continue;
    taskRows.push({
      repoId: REPO.id,
      issueNumber: n,
      title: `Task ${n}`,
      state: done ? "done" : "waiting",
      createdBy: "bench",
      branch: `drover/${n}-task`,
      config,
    });
  }
  return { issueRows, taskRows, edgeRows };
}

async function seed(database: Database, rows: Seed): Promise<void> {
  const { db } = database;
  await db.insert(repositories).values({ ...REPO, cloneUrl: "file:///bench", defaultBranch: "main" });
  const chunk = <T>(list: T[], size: number) =>
    Array.from({ length: Math.ceil(list.length / size) }, (_, i) => list.slice(i * size, (i + 1) * size));
  for (const part of chunk(rows.issueRows, 2_000)) await db.insert(issues).values(part);
  for (const part of chunk(rows.taskRows, 2_000)) await db.insert(tasks).values(part);
  for (const part of chunk(rows.edgeRows, 5_000)) await db.insert(dependencies).values(part);
}

export async function run(): Promise<void> {
  const env = readEnv();
  const url = new URL(env.DATABASE_URL);
  url.pathname = `/drover_bench_graph_${randomBytes(3).toString("hex")}`;
  const prefix = `drover-bench-graph-${randomBytes(3).toString("hex")}`;
  await migrateDatabase(url.toString());
  const redis = connectRedis(env.REDIS_URL);
  const queue = new WorkQueue(redis, prefix, (error) => console.error(error.message));
  const databases: Database[] = [];
  const open = () => {
    const database = openDatabase(url.toString());
    databases.push(database);
    return database;
  };
  let runJobs = 0;
  const enqueue = enqueuer(queue);
  const deps = (database: Database): ScheduleDeps => ({
    db: database.db,
    log: pino({ level: "warn" }),
    capacity: async () => CAPACITY,
    enqueue: async (name, payload) => {
      if (name === "run-task") runJobs += 1;
      await enqueue(name, payload);
    },
  });
  try {
    const database = open();
    const seedRows = generate(seeded(7));
    await seed(database, seedRows);

    // The first pass settles every task's readiness (thousands of rows written once).
    const before = heapMb();
    let started = performance.now();
    const settle = await schedulePass(deps(database));
    const firstMs = performance.now() - started;
    const graphHeapMb = heapMb() - before;

    // A process with no graph in memory: loads it all, and finds nothing to change.
    const rebuilds: number[] = [];
    for (let i = 0; i < REBUILDS; i++) {
      const fresh = open();
      started = performance.now();
      await schedulePass(deps(fresh));
      rebuilds.push(performance.now() - started);
    }
    rebuilds.sort((a, b) => a - b);

    // One change at a time, as close-task makes it: a queued task done, its issue closed; then the pass.
    const times: number[] = [];
    let changes = 0;
    let startedTasks = 0;
    const random = seeded(11);
    for (let i = 0; i < EVENTS; i++) {
      const holding = await database.db.query.tasks.findMany({
        where: (t, { eq }) => eq(t.state, "queued"),
        columns: { id: true, issueNumber: true },
      });
      if (holding.length === 0) break;
      const done = holding[integerBelow(random, holding.length)]!;
      const jobsBefore = runJobs;
      started = performance.now();
      await transitionTask(database.db, done.id, ["queued"], "done", { doneAt: new Date() });
      await upsertIssue(database.db, {
        ...seedRows.issueRows[done.issueNumber - 1]!,
        state: "closed",
        closedAs: "completed",
      });
      await bumpGeneration(database.db);
      const pass = await schedulePass(deps(database));
      times.push(performance.now() - started);
      changes += pass.changed.length;
      startedTasks += runJobs - jobsBefore;
    }
    times.sort((a, b) => a - b);

    const rebuildMedian = rebuilds[Math.floor(REBUILDS / 2)]!;
    const figures = {
      bench: "graph",
      tasks: TASKS,
      edges: EDGES,
      cyclesAtStart: CYCLES,
      capacity: CAPACITY,
      events: times.length,
      eventMs: {
        p50: round(percentile(times, 50), 2),
        p99: round(percentile(times, 99), 2),
        max: round(times[times.length - 1] ?? NaN, 2),
      },
      meanStartedPerEvent: round(startedTasks / Math.max(1, times.length), 2),
      meanChangesPerEvent: round(changes / Math.max(1, times.length), 2),
      rebuildMs: {
        first: round(firstMs, 1),
        firstChanged: settle.changed.length,
        median: round(rebuildMedian, 1),
        best: round(rebuilds[0]!, 1),
      },
      rebuildOverEventP50: round(rebuildMedian / percentile(times, 50), 1),
      graphHeapMb: round(graphHeapMb, 1),
      heapUsedMb: round(heapMb(), 1),
      targets: TARGETS,
      met:
        percentile(times, 50) <= TARGETS.eventP50Ms &&
        percentile(times, 99) <= TARGETS.eventP99Ms &&
        rebuildMedian <= TARGETS.rebuildMs,
    };
    console.log(
      `${TASKS} tasks, ${EDGES} edges, ${CYCLES} cycles in PostgreSQL; ${figures.events} changes, each a task done`,
    );
    console.log(
      `change → run jobs queued: p50 ${figures.eventMs.p50} ms, p99 ${figures.eventMs.p99} ms, max ${figures.eventMs.max} ms (targets ${TARGETS.eventP50Ms} / ${TARGETS.eventP99Ms})`,
    );
    console.log(
      `full rebuild (no graph in memory): median ${figures.rebuildMs.median} ms (target ${TARGETS.rebuildMs}); first pass settling ${settle.changed.length} tasks: ${figures.rebuildMs.first} ms`,
    );
    console.log(
      `rebuild / incremental pass: ${figures.rebuildOverEventP50}x; graph heap ${figures.graphHeapMb} MB`,
    );
    console.log(JSON.stringify(figures));
  } finally {
    for (const database of databases) await database.close();
    await queue.close();
    redis.disconnect();
    await deleteQueueKeys(env.REDIS_URL, prefix);
    await dropDatabase(url.toString());
  }
}
