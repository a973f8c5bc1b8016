import { randomBytes } from "node:crypto";
import { Queue } from "bullmq";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { controlJob } from "../../jobs/control.ts";
import { upsertRepository } from "../../src/db/repositories.ts";
import { findTask, updateTask } from "../../src/db/tasks.ts";
import { JOBS, type JobPayload } from "../../src/queue/job-catalog.ts";
import { LANES } from "../../src/queue/queue.ts";
import { connectRedis, deleteQueueKeys } from "../../src/queue/redis.ts";
import { useDrover } from "../helpers/drover.ts";
import { mockInstallationToken } from "../helpers/github.ts";
import { TEST_APP, TEST_BOT, appReply } from "../helpers/github-replies.ts";
import { OCTO_REPO } from "../helpers/payloads.ts";
import { TEST_REDIS_URL } from "../helpers/services.ts";
import { taskTrigger, triggerShownTask } from "../helpers/tasks.ts";
import { mockConversation, recordingQueue } from "../integration/jobs/command-mocks.ts";

const CLI = new URL("../../src/main/cli.ts", import.meta.url).pathname;

/**
 * `drover retry --failed --repo` as an operator runs it: --dry-run lists and changes nothing; then one
 * control per failed task is queued (run twice: still one each), which the worker's job applies as the
 * App's bot (the task starts again); a task that failed again since is queued again.
 */
describe("drover retry --failed", () => {
  const { db, databaseUrl, harness, github } = useDrover();
  // A queue of the command's own, with no worker on it: what the command queued stays there to be read.
  const prefix = `drover-test-${randomBytes(4).toString("hex")}`;
  const connection = connectRedis(TEST_REDIS_URL);
  const main = new Queue(LANES.main, { connection, prefix });
  const tasks: Record<number, number> = {};

  function drover(...args: string[]) {
    return droverWith(TEST_REDIS_URL, ...args);
  }
  function droverWith(redisUrl: string, ...args: string[]) {
    return execa(process.execPath, ["--import", "tsx", CLI, ...args], {
      reject: false,
      env: { DATABASE_URL: databaseUrl(), REDIS_URL: redisUrl, DROVER_QUEUE_PREFIX: prefix },
    });
  }
  async function queued(): Promise<JobPayload<"control">[]> {
    const jobs = await main.getWaiting();
    return jobs.map((job) => JOBS.control.payload.parse(job.data)).sort((a, b) => a.number - b.number);
  }

  beforeAll(async () => {
    await upsertRepository(db(), OCTO_REPO);
    const states = { 601: "failed", 602: "failed", 603: "blocked", 604: "done" } as const;
    for (const [issue, state] of Object.entries(states)) {
      const number = Number(issue);
      const trigger = await triggerShownTask(db(), {
        ...taskTrigger(number, { title: `Task ${number}` }),
        statusCommentId: 9000 + number,
      });
      if (trigger.kind !== "created") throw new Error("task not created");
      tasks[number] = trigger.task.id;
      await updateTask(db(), trigger.task.id, {
        state,
        attemptCount: 3,
        stateReason: state === "failed" ? `attempts used up: tests failed on #${number}` : null,
      });
    }
  });
  afterAll(async () => {
    await main.close();
    connection.disconnect();
    await deleteQueueKeys(TEST_REDIS_URL, prefix);
  });

  it("lists, queues each failed task's retry once, and the worker applies it as the App", async () => {
    const dry = await drover("retry", "--failed", "--repo", OCTO_REPO.fullName, "--dry-run");
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toContain(
      `${OCTO_REPO.fullName}: 2 failed tasks would be retried (nothing was changed):`,
    );
    expect(dry.stdout).toContain(
      "  #601 Task 601 (3 attempts, no verdict)\n    why: attempts used up: tests failed on #601",
    );
    expect(dry.stdout).toContain("  #602 Task 602");
    expect(dry.stdout).not.toContain("#603");
    expect(dry.stdout).toContain("1 blocked task is left alone");
    expect(await queued()).toEqual([]);

    // Twice, as an operator might: each retry queued once.
    const [first, second] = [
      await drover("retry", "--failed", "--repo", OCTO_REPO.fullName),
      await drover("retry", "--failed", "--repo", OCTO_REPO.fullName),
    ];
    for (const run of [first, second]) {
      expect(run.exitCode).toBe(0);
      expect(run.stdout).toContain("queued 2 retries (#601, #602)");
      expect(run.stderr).toContain("queueing retries: 2/2 (#602)");
    }
    const controls = await queued();
    expect(controls.map((c) => [c.number, c.command, c.via])).toEqual([
      [601, "/drover retry", "operator"],
      [602, "/drover retry", "operator"],
    ]);

    // The worker's job applies them: the tasks start again, credited to the App's bot.
    mockInstallationToken(github.optional(), OCTO_REPO.installationId);
    github.optional().get("/app").reply(200, appReply(TEST_APP));
    for (const control of controls) {
      mockConversation(github, { issue: control.number, statusCommentId: 9000 + control.number });
      await controlJob(recordingQueue(harness().deps).deps, control);
    }
    for (const issue of [601, 602])
      expect(await findTask(db(), OCTO_REPO.id, issue)).toMatchObject({
        state: "ready",
        modifiedBy: TEST_BOT.login,
      });

    // #601 fails again: the next bulk retry queues it again, and nothing for #602, started again.
    await updateTask(db(), tasks[601] ?? 0, { state: "failed" });
    const later = await drover("retry", "--failed", "--repo", OCTO_REPO.fullName);
    expect(later.stdout).toContain("queued 1 retry (#601)");
    const after = await queued();
    expect(after.map((c) => c.number)).toEqual([601, 601, 602]);
    expect(new Set(after.map((c) => c.controlId)).size).toBe(3);
  }, 120_000);

  it("--dry-run reads PostgreSQL alone: it lists while Redis is down; queueing then says Redis does not answer", async () => {
    const down = "redis://127.0.0.1:1";
    const dry = await droverWith(down, "retry", "--failed", "--repo", OCTO_REPO.fullName, "--dry-run");
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toContain("(nothing was changed)");
    expect(dry.stderr).toBe("");
    const real = await droverWith(down, "retry", "--failed", "--repo", OCTO_REPO.fullName);
    expect(real.exitCode).toBe(1);
    expect(real.stderr).toMatch(/^drover: .*Redis/m);
  }, 60_000);

  it("refuses a repository Drover has no record of, and a name that is none", async () => {
    const unknown = await drover("retry", "--failed", "--repo", "octo/other");
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toBe(
      "drover: Drover has no record of octo/other: check the name, and that the App is installed there",
    );
    const bad = await drover("retry", "--failed", "--repo", "other");
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('--repo must be owner/name (got "other")');
  }, 60_000);
});
