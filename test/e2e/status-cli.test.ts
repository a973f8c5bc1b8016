import { randomBytes } from "node:crypto";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordDeadLetter } from "../../src/db/dead-letters.ts";
import { WorkQueue } from "../../src/queue/queue.ts";
import { connectRedis, deleteQueueKeys } from "../../src/queue/redis.ts";
import { useTestDatabase } from "../helpers/db.ts";
import { TEST_REDIS_URL } from "../helpers/services.ts";

const CLI = new URL("../../src/main/cli.ts", import.meta.url).pathname;

/** `drover status` and `drover retry` as a person runs them, against a test database and queue namespace. */
describe("drover status and drover retry", () => {
  const testDb = useTestDatabase();
  const prefix = `drover-test-${randomBytes(4).toString("hex")}`;
  const connection = connectRedis(TEST_REDIS_URL);
  const queue = new WorkQueue(connection, prefix, () => {});
  const SYNC = {
    installationId: 9,
    repoFullName: "acme/notes",
    number: 12,
    links: true,
    cause: "reconcile-1",
  };

  function drover(...args: string[]) {
    return execa(process.execPath, ["--import", "tsx", CLI, ...args], {
      reject: false,
      env: { DATABASE_URL: testDb.url(), REDIS_URL: TEST_REDIS_URL, DROVER_QUEUE_PREFIX: prefix },
    });
  }

  beforeAll(async () => {
    const db = testDb.database().db;
    await recordDeadLetter(db, {
      jobId: "start-d-cli",
      jobName: "start-task",
      payload: { deliveryId: "d-cli" },
      deliveryId: "d-cli",
      reason: 'value "4294967296" is out of range for type integer',
      attempts: 5,
    });
    await recordDeadLetter(db, {
      jobId: "sync-reconcile-1-acme-notes-12",
      jobName: "sync-issue",
      payload: SYNC,
      deliveryId: null,
      reason: "socket hang up",
      attempts: 5,
    });
  });
  afterAll(async () => {
    await queue.close();
    connection.disconnect();
    await deleteQueueKeys(TEST_REDIS_URL, prefix);
  });

  it("shows parked work, retries a job after a fix, and refuses an unknown delivery", async () => {
    const all = await drover("status");
    expect(all.exitCode).toBe(0);
    expect(all.stdout).toMatch(/^Parked: 2 jobs failed for good and will not run again until retried:$/m);
    expect(all.stdout).toContain("  start-task start-d-cli (delivery d-cli)\n");
    expect(all.stdout).toContain('    why: value "4294967296" is out of range for type integer\n');
    expect(all.stdout.split("\n")).toContain("    retry: drover retry --delivery d-cli");
    expect(all.stdout).toContain("  sync-issue sync-reconcile-1-acme-notes-12 (acme/notes#12)\n");
    expect(all.stdout).toContain("    retry: drover retry --job sync-reconcile-1-acme-notes-12\n");
    expect(all.stdout).toMatch(/failed for good \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC after 5 tries/);

    // A repository's status: its tasks, then its parked work (and what names no repository).
    const other = await drover("status", "--repo", "octo/other");
    expect(other.exitCode).toBe(0);
    expect(other.stdout).toContain("octo/other: no tasks. Label an issue to start one.\n");
    expect(other.stdout).toContain("Parked: 1 job failed");
    expect(other.stdout).not.toContain("sync-issue");

    const unknown = await drover("retry", "--delivery", "nope");
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toBe("drover: no delivery nope is recorded; `drover status` lists what is parked");

    const retried = await drover("retry", "--job", "sync-reconcile-1-acme-notes-12");
    expect(retried.stderr).toBe("");
    expect(retried.exitCode).toBe(0);
    expect(retried.stdout).toBe(
      "queued sync-issue sync-reconcile-1-acme-notes-12 again; it had failed with: socket hang up",
    );
    expect(await queue.state("main", "sync-reconcile-1-acme-notes-12")).toBe("waiting");

    const after = await drover("status");
    expect(after.stdout).toContain("Parked: 1 job failed");
    expect(after.stdout).not.toContain("sync-issue");

    const neither = await drover("retry");
    expect(neither.exitCode).toBe(1);
    expect(neither.stderr).toMatch(/^drover: retry needs one of --delivery ID or --job ID/);
  }, 60_000);
});
