import { createHmac } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { eq } from "drizzle-orm";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DroverConfig } from "../../../src/config/schema.ts";
import { parseNotifyEnv } from "../../../src/config/notify.ts";
import { upsertRepository } from "../../../src/db/repositories.ts";
import { notifyProblems } from "../../../src/db/notify.ts";
import { eventCursors, notifyDeliveries, tasks, type TaskState } from "../../../src/db/schema.ts";
import { triggerTask } from "../../../src/db/tasks.ts";
import { notifyPass, startNotifier } from "../../../src/scheduler/notifier.ts";
import type { JobDeps } from "../../../jobs/deps.ts";
import { settled, useDrover } from "../../helpers/drover.ts";
import { taskTrigger } from "../../helpers/tasks.ts";
import { OCTO_REPO } from "../../helpers/payloads.ts";

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
const SECRET = "notify-test-secret";

type Received = { path: string; headers: IncomingHttpHeaders; body: string };

/**
 * A webhook receiver on loopback: records each request whole and answers `answer(n)` to the nth (from 0).
 * Counts connections too, so a test can say none was made.
 */
async function receiver(answer: (n: number) => number = () => 200) {
  const requests: Received[] = [];
  let connections = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const n = requests.length;
      requests.push({
        path: request.url ?? "",
        headers: request.headers,
        body: Buffer.concat(chunks).toString(),
      });
      response.writeHead(answer(n)).end();
    });
  });
  server.on("connection", () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  servers.push(server);
  return { url: `http://127.0.0.1:${port}`, port, requests, connections: () => connections };
}
const servers: ReturnType<typeof createServer>[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

async function until(what: string, done: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Outgoing webhooks through the real parts: events written by PostgreSQL's triggers, the dispatcher's
 * rows and cursor, notify jobs on BullMQ, and an HTTP receiver on loopback that checks what it got.
 */
describe("notify", () => {
  const { db, database, harness } = useDrover();

  // Each test starts as a first start: no deliveries, no cursor (its first pass starts at the newest event).
  beforeEach(async () => {
    await db().delete(notifyDeliveries);
    await db().delete(eventCursors);
  });

  /** The deployment's env as the worker's jobs read it. */
  function useEnv(notify: object[], extra: Record<string, string> = {}) {
    harness().deps.env = {
      ...harness().deps.env,
      DROVER_NOTIFY: JSON.stringify(notify),
      DROVER_NOTIFY_SECRET: SECRET,
      DROVER_NOTIFY_PRIVATE: "allow",
      DROVER_PUBLIC_URL: "https://drover.example.com",
      GITHUB_WEB_URL: "https://github.com",
      ...extra,
    } as JobDeps["env"];
    const env = harness().deps.env;
    return parseNotifyEnv(env.DROVER_NOTIFY, env.DROVER_NOTIFY_PRIVATE === "allow");
  }

  function notifier(targets: ReturnType<typeof useEnv>) {
    return { db: db(), enqueue: harness().enqueue, log, targets };
  }

  /** A task of OCTO_REPO (its `task.ready` event written), with `notify` recorded in its config. */
  async function task(issue: number, notify: object[] = []): Promise<number> {
    await upsertRepository(db(), OCTO_REPO);
    const config = { ...DroverConfig.parse({}), notify };
    const result = await triggerTask(
      db(),
      taskTrigger(issue, { title: `Fix the <thing> #${issue}`, config }),
    );
    if (result.kind !== "created") throw new Error(`task not created: ${result.kind}`);
    return result.task.id;
  }

  /** Moves the task: PostgreSQL's trigger writes the event (`failed` → task.failed). */
  async function move(taskId: number, state: TaskState, reason?: string): Promise<void> {
    await db()
      .update(tasks)
      .set({ state, stateReason: reason ?? null })
      .where(eq(tasks.id, taskId));
  }

  const rows = () => db().select().from(notifyDeliveries).orderBy(notifyDeliveries.id);

  it("sends each format once per event, signed as GitHub signs its webhooks, with Drover's headers", async () => {
    const hook = await receiver();
    const targets = useEnv(
      (["json", "slack", "discord"] as const).map((format) => ({
        url: `${hook.url}/${format}?token=t`,
        events: ["task.failed"],
        format,
      })),
    );
    await notifyPass(notifier(targets)); // the first pass starts the cursor at the newest event
    const taskId = await task(7);
    await move(taskId, "failed", "checks failed in /var/lib/drover/runs/7/worktree after 3 attempts");
    expect(await notifyPass(notifier(targets))).toEqual({ queued: 3, requeued: 0 });
    await harness().drain();

    expect(hook.requests.map((r) => r.path).sort()).toEqual([
      "/discord?token=t",
      "/json?token=t",
      "/slack?token=t",
    ]);
    for (const request of hook.requests) {
      const expected = `sha256=${createHmac("sha256", SECRET).update(request.body).digest("hex")}`;
      expect(request.headers["x-drover-signature-256"]).toBe(expected);
      expect(request.headers).toMatchObject({
        "content-type": "application/json",
        "user-agent": "Drover",
        "x-drover-event": "task.failed",
      });
      expect(request.body).not.toContain("/var/lib/drover");
      expect(request.body).not.toContain(SECRET);
    }
    const byPath = (format: string) => {
      const request = hook.requests.find((r) => r.path.startsWith(`/${format}`));
      return { delivery: request?.headers["x-drover-delivery"], body: JSON.parse(request?.body ?? "null") };
    };
    const json = byPath("json");
    expect(json.body).toMatchObject({
      type: "task.failed",
      repo: OCTO_REPO.fullName,
      issue: 7,
      data: { to: "failed", reason: expect.stringContaining("checks failed in … after 3") },
      task: { title: "Fix the <thing> #7", state: "failed" },
      links: {
        issue: `https://github.com/${OCTO_REPO.fullName}/issues/7`,
        dashboard: `https://drover.example.com/drover/tasks/${OCTO_REPO.fullName}/7`,
      },
    });
    const slack = byPath("slack").body;
    expect(slack.text).toContain("Fix the &lt;thing&gt; #7");
    expect(slack.blocks).toEqual([
      {
        type: "section",
        text: { type: "mrkdwn", text: expect.stringContaining(`|Fix the &lt;thing&gt; #7>`) },
      },
    ]);
    const discord = byPath("discord").body;
    expect(discord.content).toMatch(/failed\.$/);
    expect(discord.embeds).toEqual([
      expect.objectContaining({
        title: "Fix the <thing> #7",
        url: `https://github.com/${OCTO_REPO.fullName}/issues/7`,
        footer: { text: "task.failed" },
      }),
    ]);

    const delivered = await rows();
    expect(delivered.map((row) => [row.state, row.tries, row.lastStatus])).toEqual([
      ["delivered", 1, 200],
      ["delivered", 1, 200],
      ["delivered", 1, 200],
    ]);
    expect(delivered.map((row) => String(row.id)).sort()).toEqual(
      [json.delivery, byPath("slack").delivery, byPath("discord").delivery].sort(),
    );
    // The shown target keeps neither the query nor the rest of the path (a Slack url's secret part).
    expect(delivered.every((row) => !row.target.includes("token"))).toBe(true);
  });

  it("tries again with backoff: a receiver failing twice then accepting has it on the third try", async () => {
    const hook = await receiver((n) => (n < 2 ? 503 : 204));
    const targets = useEnv([{ url: `${hook.url}/hook`, events: ["task.review"] }]);
    await notifyPass(notifier(targets));
    const taskId = await task(8);
    await move(taskId, "review");
    await notifyPass(notifier(targets), { retryBackoffMs: 20 });
    await harness().drain();

    expect(hook.requests).toHaveLength(3);
    expect(new Set(hook.requests.map((r) => r.headers["x-drover-delivery"])).size).toBe(1);
    expect(await rows()).toMatchObject([{ state: "delivered", tries: 3, lastStatus: 204, lastError: null }]);
    expect(await notifyProblems(db(), undefined)).toEqual([]);
  });

  it("gives up after 8 tries: the delivery is failed and shown as a problem to who can read its repository", async () => {
    const hook = await receiver(() => 500);
    const targets = useEnv([{ url: `${hook.url}/down`, events: ["task.blocked"] }]);
    await notifyPass(notifier(targets));
    const taskId = await task(9);
    await move(taskId, "blocked");
    await notifyPass(notifier(targets), { retryBackoffMs: 10 });
    await settled(harness());

    expect(hook.requests).toHaveLength(8);
    const [row] = await rows();
    expect(row).toMatchObject({ state: "failed", tries: 8, lastStatus: 500 });
    expect(await notifyProblems(db(), [OCTO_REPO.fullName.toUpperCase()])).toEqual([
      {
        id: row?.id,
        target: `${hook.url}/down`,
        format: "json",
        eventType: "task.blocked",
        eventSeq: row?.eventSeq,
        repo: OCTO_REPO.fullName,
        issue: 9,
        state: "failed",
        tries: 8,
        lastStatus: 500,
        lastError: "the receiver answered 500",
        updatedAt: expect.any(Date),
      },
    ]);
    expect(await notifyProblems(db(), ["someone/else"])).toEqual([]);
    expect(await notifyProblems(db(), [])).toEqual([]);
    // Its job failed for good, as the queue shows: taken off so the harness's drain does not count it.
    expect(await harness().queue.state("main", `notify-${row?.id}`)).toBe("failed");
    await harness().queue.remove("main", `notify-${row?.id}`);
  });

  it("shows a delivery waiting for its next try as retrying, and queues again one whose job was lost", async () => {
    const hook = await receiver((n) => (n === 0 ? 502 : 200));
    const targets = useEnv([{ url: `${hook.url}/hook`, events: ["task.completed"] }]);
    await notifyPass(notifier(targets));
    const taskId = await task(13);
    await move(taskId, "done");
    // Its first try fails; the next one is a minute away.
    await notifyPass(notifier(targets), { retryBackoffMs: 60_000 });
    await until("the first try", () => hook.requests.length === 1);
    let [row] = await rows();
    for (let i = 0; i < 100 && row?.tries !== 1; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      [row] = await rows();
    }
    expect(await notifyProblems(db(), [OCTO_REPO.fullName])).toMatchObject([
      { id: row?.id, state: "retrying", tries: 1, lastStatus: 502, lastError: "the receiver answered 502" },
    ]);

    // Redis loses the job (emptied, or failed over without it): the row is still pending.
    await harness().queue.remove("main", `notify-${row?.id}`);
    expect(await notifyPass(notifier(targets))).toEqual({ queued: 0, requeued: 0 }); // touched too recently
    await db()
      .update(notifyDeliveries)
      .set({ updatedAt: new Date(Date.now() - 2 * 60_000) })
      .where(eq(notifyDeliveries.id, row?.id ?? 0));
    expect(await notifyPass(notifier(targets))).toEqual({ queued: 0, requeued: 1 });
    await harness().drain();

    expect(hook.requests).toHaveLength(2);
    expect(await rows()).toMatchObject([{ state: "delivered", tries: 2, lastStatus: 200 }]);
    expect(await notifyProblems(db(), undefined)).toEqual([]);
  });

  it("delivers events committed while no dispatcher ran once it starts, and new ones as they commit", async () => {
    const hook = await receiver();
    const targets = useEnv([{ url: `${hook.url}/hook`, events: ["task"] }]);
    const first = await startNotifier(
      { ...notifier(targets), sqlClient: database().sql },
      { everyMs: 3_600_000 },
    );
    await first.stop();

    // No dispatcher runs: the task is created (task.ready) and fails (task.failed).
    const taskId = await task(10);
    await move(taskId, "failed");
    const second = await startNotifier(
      { ...notifier(targets), sqlClient: database().sql },
      { everyMs: 3_600_000 },
    );
    try {
      await until("the two events", () => hook.requests.length === 2);
      // Live: only `drover_events` can wake it (its timer is an hour).
      await move(taskId, "cancelled");
      await until("the third event", () => hook.requests.length === 3);
    } finally {
      await second.stop();
    }
    await harness().drain();
    // Sent by jobs in parallel, so they may arrive in any order: each carries its seq to put them back in.
    const types = hook.requests
      .map((r) => ({ seq: (JSON.parse(r.body) as { seq: number }).seq, type: r.headers["x-drover-event"] }))
      .sort((x, y) => x.seq - y.seq)
      .map((r) => r.type);
    expect(types).toEqual(["task.ready", "task.failed", "task.cancelled"]);
    expect(await rows()).toHaveLength(3);
  });

  it("never sends one event twice to a target: two dispatchers at once, the target named twice", async () => {
    const hook = await receiver();
    const url = `${hook.url}/hook`;
    const targets = useEnv([{ url, events: ["task.failed", "task.retried"] }]);
    await notifyPass(notifier(targets));
    // The task names the same target as the deployment: one target.
    const taskId = await task(11, [{ url, events: ["task.failed"], format: "json" }]);
    const a = await startNotifier({ ...notifier(targets), sqlClient: database().sql }, { everyMs: 5 });
    const b = await startNotifier({ ...notifier(targets), sqlClient: database().sql }, { everyMs: 5 });
    try {
      for (let i = 0; i < 10; i += 1) {
        await move(taskId, "failed");
        await move(taskId, "ready");
      }
      await until("20 deliveries", () => hook.requests.length >= 20);
      // Both keep passing a while longer: a second delivery of any event would come now.
      await Promise.all([notifyPass(notifier(targets)), notifyPass(notifier(targets))]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    await harness().drain();
    expect(hook.requests).toHaveLength(20);
    const seqs = hook.requests.map((r) => (JSON.parse(r.body) as { seq: number }).seq);
    expect(new Set(seqs).size).toBe(20);
    expect(await rows()).toHaveLength(20);
  });

  it("refuses a private or loopback address unless DROVER_NOTIFY_PRIVATE=allow, connecting to nothing", async () => {
    const hook = await receiver();
    const targets = useEnv(
      [
        { url: `https://127.0.0.1:${hook.port}/literal`, events: ["task.failed"] },
        { url: `https://localhost:${hook.port}/by-name`, events: ["task.failed"] },
      ],
      { DROVER_NOTIFY_PRIVATE: "refuse" },
    );
    await notifyPass(notifier(targets));
    const taskId = await task(12);
    await move(taskId, "failed");
    await notifyPass(notifier(targets));
    await settled(harness());

    expect(hook.connections()).toBe(0);
    const refused = await rows();
    expect(refused.map((row) => [row.state, row.tries, row.lastStatus])).toEqual([
      ["failed", 1, null],
      ["failed", 1, null],
    ]);
    for (const row of refused) {
      expect(row.lastError).toMatch(
        /^refused: the target's address is private, .*DROVER_NOTIFY_PRIVATE=allow/,
      );
      await harness().queue.remove("main", `notify-${row.id}`);
    }
  });

  it("never lets a repository's drover.yml reach a private address, even where the deployment's list may", async () => {
    const hook = await receiver();
    // The deployment allows private receivers (its own list has none here); the task names a loopback one.
    const targets = useEnv([]);
    await notifyPass(notifier(targets));
    const taskId = await task(14, [
      { url: `https://localhost:${hook.port}/from-repo`, events: ["task.failed"], format: "json" },
    ]);
    await move(taskId, "failed");
    await notifyPass(notifier(targets));
    await settled(harness());

    expect(hook.connections()).toBe(0);
    const [row] = await rows().then((all) =>
      all.filter((r) => r.eventSeq > 0 && r.target.includes("localhost")),
    );
    expect(row).toMatchObject({ state: "failed", tries: 1 });
    expect(row?.lastError).toMatch(/^refused: the target's address is private/);
    if (row) await harness().queue.remove("main", `notify-${row.id}`);
  });
});
