import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq, sql } from "drizzle-orm";
import { attempts } from "../../src/db/schema.ts";
import { deleteQueueKeys } from "../../src/queue/redis.ts";
import type { IssueRecord } from "../../src/sandbox/world.ts";
import { STATUS_MARKER } from "../../src/github/comments.ts";
import { TEST_REDIS_URL } from "../helpers/services.ts";
import { BOT, eventually, repoWithConfig, useStack } from "../helpers/stack.ts";

/**
 * Durability with real processes: a worker killed (-9) or stopped (SIGTERM) in the middle of an agent
 * run, and a queue that lost everything. Each time the task still ends with exactly one pull request,
 * one status comment and one push of its branch.
 */

const SLOW_AGENT = new URL("../fixtures/agents/slow-edit.mjs", import.meta.url).pathname;

/**
 * Leases of 6 s (DROVER_LEASE_MS; 15 s unset): a dead worker's task is taken over within about twice that,
 * so each crash here costs seconds, not half a minute.
 */
const LEASE_MS = 6_000;
const drover = useStack({ workers: 2, env: { DROVER_LEASE_MS: String(LEASE_MS) } });
let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), "drover-crash-"));
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

/** A repository whose agent records each start in `runs.log` and takes `ms` to finish. */
async function slowRepo(name: string, ms: number) {
  const runLog = path.join(scratch, `${name}.runs.log`);
  const config = `agent: command\nagent_command: ${JSON.stringify([process.execPath, SLOW_AGENT, runLog, String(ms)])}\n`;
  const repo = await repoWithConfig(drover.as("maintainer"), name, config);
  const runs = async () => (await readFile(runLog, "utf8").catch(() => "")).split("\n").filter(Boolean);
  return { repo, runs };
}

async function labelNew(repo: { owner: string; repo: string }, title: string) {
  const maintainer = drover.as("maintainer");
  const { data } = await maintainer.rest.issues.create({ ...repo, title });
  await maintainer.rest.issues.addLabels({ ...repo, issue_number: data.number, labels: ["drover"] });
  return data.number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function world(repo: { repo: string }) {
  return drover.stack().sandbox.world.repo("acme", repo.repo)!;
}

function pullsFor(repo: { repo: string }, number: number): IssueRecord[] {
  return [...world(repo).issues.values()].filter(
    (issue) => issue.pull && issue.user.login === BOT && issue.body?.includes(`Closes #${number}`),
  );
}

/** What the task left on GitHub: pull requests, status comments, pushes of its branch. */
function footprint(repo: { repo: string }, number: number) {
  const pulls = pullsFor(repo, number);
  const statusComments = (world(repo).issues.get(number)?.comments ?? []).filter(
    (c) => c.user.login === BOT && c.body.includes(STATUS_MARKER),
  );
  const branch = pulls[0]?.pull?.head;
  const pushes = drover
    .stack()
    .sandbox.deliveries.filter(
      (d) =>
        d.event === "push" &&
        (d.payload.repository as { name: string }).name === repo.repo &&
        branch !== undefined &&
        d.payload.ref === `refs/heads/${branch}`,
    );
  return { pulls: pulls.length, statusComments: statusComments.length, pushes: pushes.length };
}

describe("crashes and restarts", () => {
  it("finishes a task whose worker was killed (-9) mid-run, once", async () => {
    const { repo, runs } = await slowRepo("killed", 4_000);
    const number = await labelNew(repo, "Survive a crash");
    await eventually("the agent to start", async () => (await runs()).length === 1);
    // The worker holds the task for DROVER_LEASE_MS at a time, not the default 15 s.
    const [held] = await drover
      .database()
      .db.select({ left: sql<number>`extract(epoch from (${attempts.leaseExpiresAt} - now())) * 1000` })
      .from(attempts)
      .where(eq(attempts.state, "running"));
    expect(Number(held?.left)).toBeGreaterThan(0);
    expect(Number(held?.left)).toBeLessThanOrEqual(LEASE_MS);

    const killedAt = Date.now();
    await drover.stack().workers[0]!.kill();
    await drover.stack().startWorker();
    await eventually(
      "a pull request after the crash",
      () => pullsFor(repo, number).length > 0,
      120_000,
    ).catch((error: unknown) => {
      const logs = drover.stack().workers.map((w) => w.output().slice(-4000));
      throw new Error(`${(error as Error).message}\nworkers said:\n${logs.join("\n---\n")}`);
    });
    const recoverySeconds = (Date.now() - killedAt) / 1000;
    console.log(`recovery after kill -9: ${recoverySeconds.toFixed(1)} s`);

    await drover.stack().sandbox.webhooksSent();
    expect(footprint(repo, number)).toEqual({ pulls: 1, statusComments: 1, pushes: 1 });
    expect((await runs()).length).toBe(2); // the killed run, and the one that finished
    // Taken over within about twice the lease, plus the agent's second run (4 s) and the publishing.
    expect(recoverySeconds).toBeLessThan(40);
  }, 150_000);

  it("hands a task back on SIGTERM, exits within the grace period, and finishes it after a restart", async () => {
    const { repo, runs } = await slowRepo("stopped", 4_000);
    const number = await labelNew(repo, "Survive a deploy");
    await eventually("the agent to start", async () => (await runs()).length === 1);

    const worker = drover.stack().workers.at(-1)!;
    const stoppedAt = Date.now();
    await worker.stop(15_000);
    const exit = await worker.exited;
    expect((Date.now() - stoppedAt) / 1000).toBeLessThan(10);
    expect(exit.exitCode).toBe(0);
    expect(pullsFor(repo, number)).toHaveLength(0);

    await drover.stack().startWorker();
    await eventually("a pull request after the restart", () => pullsFor(repo, number).length > 0, 60_000);
    await drover.stack().sandbox.webhooksSent();
    expect(footprint(repo, number)).toEqual({ pulls: 1, statusComments: 1, pushes: 1 });
    expect((await runs()).length).toBe(2);
  }, 120_000);

  it("lets a worker paused past its lease write nothing when it wakes, while another finishes the task", async () => {
    const { repo, runs } = await slowRepo("paused", 6_000);
    const number = await labelNew(repo, "Survive a pause");
    await eventually("the agent to start", async () => (await runs()).length === 1);

    // Every worker freezes (a VM paused, a process stopped in a debugger); its agent runs on meanwhile.
    const frozen = drover.stack().workers.filter((w) => w.pid !== undefined && alive(w.pid));
    expect(frozen.length).toBeGreaterThan(0);
    const before = new Map(frozen.map((w) => [w, w.output().length]));
    const saidSince = (w: (typeof frozen)[number]) => w.output().slice(before.get(w) ?? 0);
    for (const worker of frozen) process.kill(worker.pid!, "SIGSTOP");
    try {
      await drover.stack().startWorker();
      await eventually("a pull request from the new worker", () => pullsFor(repo, number).length > 0, 90_000);
    } finally {
      for (const worker of frozen) process.kill(worker.pid!, "SIGCONT");
    }
    // Awake again, the old worker finds its lease gone and stops there.
    await eventually(
      "the woken worker to notice it lost the lease",
      () => frozen.some((w) => saidSince(w).includes("lease lost")),
      30_000,
    );
    // Then it exits (SIGTERM: its running job is handed back, which writes nothing to GitHub): after that it
    // can write nothing more, so what GitHub holds now is all it will ever hold from it.
    await Promise.all(frozen.map((w) => w.stop(30_000)));

    await drover.stack().sandbox.webhooksSent();
    expect(footprint(repo, number)).toEqual({ pulls: 1, statusComments: 1, pushes: 1 });
    expect((await runs()).length).toBe(2);
    const pull = pullsFor(repo, number)[0]!;
    const body =
      world(repo)
        .issues.get(number)
        ?.comments.find((c) => c.user.login === BOT)?.body ?? "";
    expect(body).toContain(`#${pull.number}`);
  }, 150_000);

  it("rebuilds a lost queue from PostgreSQL, and runs nothing twice at once", async () => {
    // The agent runs past its job's first lock renewal (a third of the lease in), which finds the job gone.
    const { repo, runs } = await slowRepo("flushed", 8_000);
    const first = await labelNew(repo, "Queued before the flush");
    const second = await labelNew(repo, "Also queued before the flush");
    await eventually("an agent to start", async () => (await runs()).length >= 1);

    // Everything the queue held is gone, as after FLUSHALL or a Redis restart without persistence.
    await deleteQueueKeys(TEST_REDIS_URL, drover.stack().env.DROVER_QUEUE_PREFIX!);
    for (const number of [first, second])
      await eventually(`a pull request for #${number}`, () => pullsFor(repo, number).length > 0, 90_000);

    await drover.stack().sandbox.webhooksSent();
    for (const number of [first, second])
      expect(footprint(repo, number)).toEqual({ pulls: 1, statusComments: 1, pushes: 1 });
    // Each agent started once: the running one went on under its lease, the queued one was queued again.
    expect((await runs()).length).toBe(2);
  }, 120_000);

  it("is ready only while a worker takes jobs from the queue", async () => {
    const readyz = async () => {
      const response = await fetch(`http://127.0.0.1:${drover.stack().env.PORT}/readyz`);
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const ready = await readyz();
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: "ready", database: "ok", queue: "ok" });
    expect(ready.body.roundTripMs).toEqual(expect.any(Number));

    for (const worker of drover.stack().workers) if (!worker.exitedEarly) await worker.stop(10_000);
    const stalled = await readyz();
    expect(stalled.status).toBe(503);
    expect(String(stalled.body.queue)).toContain("no worker took the canary job");

    await drover.stack().startWorker();
    expect((await readyz()).status).toBe(200);
  }, 60_000);
});
