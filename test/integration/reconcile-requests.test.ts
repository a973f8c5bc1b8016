import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reconcile } from "../../jobs/reconcile.ts";
import { startTask } from "../../jobs/start-task.ts";
import { syncIssueJob } from "../../jobs/sync-issue.ts";
import { findTaskByKey } from "../../src/db/tasks.ts";
import { GitHubApp } from "../../src/github/app.ts";
import { RequestBudget } from "../../src/github/budget.ts";
import { receiveWebhook } from "../../src/intake/receive.ts";
import type { Enqueue, JobName, JobPayload } from "../../src/queue/job-catalog.ts";
import { APP_SLUG } from "../../src/sandbox/seed.ts";
import { useTestDatabase } from "../helpers/db.ts";
import { droverApp, startTestSandbox, type TestSandbox } from "../helpers/sandbox.ts";

/**
 * What reconcile costs in requests to GitHub, counted on the sandbox, and what it notices that no webhook
 * said: its listing is every issue changed since its mark, so a Drover label taken off while the webhook
 * was lost is seen at the next pass, and unrelated activity in the repository costs one listing, not a
 * request per issue.
 */
type Queued = { name: JobName; payload: unknown };

describe("reconcile's requests", () => {
  const testDb = useTestDatabase();
  let hub: TestSandbox;
  let github: GitHubApp;
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
  const queued: Queued[] = [];
  const enqueue: Enqueue = async <N extends JobName>(name: N, payload: JobPayload<N>) => {
    queued.push({ name, payload });
  };
  let repo: { owner: string; repo: string };
  let delivered = 0;
  const tasks: number[] = [];

  beforeAll(async () => {
    hub = await startTestSandbox();
    // Drover's own client: conditional GETs, as in production.
    github = droverApp(hub, { budget: new RequestBudget(), log });
    repo = await hub.newRepo("reconciled", { autoInit: false });
  }, 30_000);
  afterAll(async () => hub?.close());

  const maintainer = () => hub.as("maintainer");
  const fullName = () => `${repo.owner}/${repo.repo}`;
  const deps = () => ({
    db: testDb.database().db,
    enqueue,
    github,
    env: { DROVER_HOME: "/tmp/drover-reconcile-requests-test", DROVER_AGENT_ENV: [] },
    log,
    workerId: "reconcile-requests-test",
    capacity: async () => 2,
  });

  /** The sync and start jobs queued, run (and any they queue); Drover's requests meanwhile. */
  async function runQueued(): Promise<string[]> {
    const from = hub.sandbox.requests.length;
    for (let job = queued.shift(); job; job = queued.shift()) {
      if (job.name === "sync-issue") await syncIssueJob(deps(), job.payload as JobPayload<"sync-issue">);
      if (job.name === "start-task") await startTask(deps(), job.payload as JobPayload<"start-task">);
    }
    return since(from);
  }

  /** The webhooks sent since the last call, through intake, and their jobs run. */
  async function deliverAndRun(): Promise<void> {
    const hooks = await hub.deliveries(delivered);
    delivered += hooks.length;
    for (const hook of hooks) {
      await receiveWebhook(
        { db: testDb.database().db, enqueue, log, botLogin: `${APP_SLUG}[bot]` },
        { id: hook.id, name: hook.event, payload: hook.payload },
      );
    }
    await runQueued();
  }

  /** The webhooks sent since the last call, lost: GitHub never delivered them. */
  async function loseWebhooks(): Promise<void> {
    delivered += (await hub.deliveries(delivered)).length;
  }

  /** One reconcile pass and the jobs it queues: Drover's requests, as `METHOD /route STATUS`. */
  async function pass(): Promise<string[]> {
    const from = hub.sandbox.requests.length;
    await reconcile(deps(), { at: Date.now() });
    await runQueued();
    return since(from);
  }

  /** Drover's requests answered since `from`, as `METHOD /route STATUS` (a 304 as such). */
  function since(from: number): string[] {
    return hub.sandbox.requests
      .slice(from)
      .filter((r) => r.actor === "installation" && r.kind === "rest")
      .map((r) => `${r.method} ${r.route} ${r.notModified ? 304 : r.status}`);
  }
  const full = (requests: string[]) => requests.filter((r) => !r.endsWith(" 304"));

  it("an unchanged open task costs nothing; unrelated activity costs one listing a pass", async () => {
    for (const title of ["First task", "Second task", "Third task"]) {
      const { data: issue } = await maintainer().rest.issues.create({ ...repo, title });
      await maintainer().rest.issues.addLabels({ ...repo, issue_number: issue.number, labels: ["drover"] });
      tasks.push(issue.number);
    }
    await deliverAndRun();
    await deliverAndRun();
    for (const number of tasks) {
      expect(await findTaskByKey(testDb.database().db, fullName(), number)).toMatchObject({ state: "ready" });
    }

    const first = await pass();
    console.log(`first pass, 3 tasks: ${first.join(", ")}`);
    // Nothing changed since: the listing is asked again conditionally.
    await pass();
    const quiet = await pass();
    console.log(`quiet pass: ${quiet.join(", ")}`);
    expect(full(quiet)).toEqual([]);

    // Someone else's issues, opened and edited: listed (they changed), read no further.
    for (const title of ["Unrelated", "Also unrelated"]) {
      const { data: other } = await maintainer().rest.issues.create({ ...repo, title });
      await maintainer().rest.issues.update({ ...repo, issue_number: other.number, title: `${title}!` });
    }
    await deliverAndRun();
    const busy = await pass();
    console.log(`pass after unrelated activity: ${busy.join(", ")}`);
    expect(full(busy)).toEqual(["GET /repos/{owner}/{repo}/issues 200"]);
    const after = await pass();
    console.log(`next pass: ${after.join(", ")}`);
    expect(full(after).length).toBeLessThanOrEqual(1);
    expect(full(await pass())).toEqual([]);
  });

  it("cancels a task whose label was taken off while the webhook was lost, at the next pass", async () => {
    const number = tasks[0]!;
    await maintainer().rest.issues.removeLabel({ ...repo, issue_number: number, name: "drover" });
    await loseWebhooks();
    const requests = await pass();
    console.log(`pass after a lost unlabel: ${requests.join(", ")}`);
    expect(await findTaskByKey(testDb.database().db, fullName(), number)).toMatchObject({
      state: "cancelled",
      stateReason: "the `drover` label was removed",
    });
    // The other tasks stand.
    for (const other of tasks.slice(1)) {
      expect(await findTaskByKey(testDb.database().db, fullName(), other)).toMatchObject({ state: "ready" });
    }
  });
});
