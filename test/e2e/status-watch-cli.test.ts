import { randomBytes } from "node:crypto";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { recordDeadLetter } from "../../src/db/dead-letters.ts";
import { deleteQueueKeys } from "../../src/queue/redis.ts";
import { setConnectable, useTestDatabase } from "../helpers/db.ts";
import { TEST_REDIS_URL } from "../helpers/services.ts";

const CLI = new URL("../../src/main/cli.ts", import.meta.url).pathname;

/**
 * `drover status --watch` into a pipe, as a log or `tee` sees it: the report printed again only when it
 * changed, PostgreSQL going away said once and waited out, and Ctrl-C the end (exit 0).
 */
describe("drover status --watch", () => {
  const testDb = useTestDatabase();
  const prefix = `drover-test-${randomBytes(4).toString("hex")}`;
  afterAll(() => deleteQueueKeys(TEST_REDIS_URL, prefix));

  function watch() {
    const child = execa(process.execPath, ["--import", "tsx", CLI, "status", "--watch", "--interval", "1"], {
      reject: false,
      env: { DATABASE_URL: testDb.url(), REDIS_URL: TEST_REDIS_URL, DROVER_QUEUE_PREFIX: prefix },
    });
    let out = "";
    let err = "";
    child.stdout?.on("data", (part: Buffer) => (out += part.toString("utf8")));
    child.stderr?.on("data", (part: Buffer) => (err += part.toString("utf8")));
    const until = async (check: () => boolean, what: string, ms = 30_000) => {
      const deadline = Date.now() + ms;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; printed:\n${out}\n${err}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    };
    return { child, out: () => out, err: () => err, until };
  }
  const reports = (text: string) => text.match(/^--- \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC ---$/gm)?.length ?? 0;

  it("prints the report again only when it changed, waits out PostgreSQL, and ends on Ctrl-C", async () => {
    const w = watch();
    await w.until(() => w.out().includes("Parked: nothing"), "the first report");
    expect(reports(w.out())).toBe(1);
    // Reads every second meanwhile find the same report: nothing more is printed for them.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(reports(w.out())).toBe(1);

    await recordDeadLetter(testDb.database().db, {
      jobId: "sync-watch-1",
      jobName: "sync-issue",
      payload: {},
      deliveryId: null,
      reason: "socket hang up",
      attempts: 5,
    });
    await w.until(() => w.out().includes("sync-watch-1"), "the report with the parked job");
    expect(reports(w.out())).toBe(2);

    // PostgreSQL refuses the database, then takes it again: said once, then the report as it was.
    try {
      await setConnectable(testDb.url(), false);
      await w.until(() => w.err().includes("could not read PostgreSQL"), "the outage said");
      expect(w.err()).toMatch(/trying again every 1 s\n$/);
    } finally {
      await setConnectable(testDb.url(), true);
    }
    await w.until(() => w.err().includes("PostgreSQL answers again"), "PostgreSQL back");
    expect(w.err().match(/could not read PostgreSQL/g)).toHaveLength(1);
    expect(w.child.exitCode).toBeNull();

    w.child.kill("SIGINT");
    const ended = await w.child;
    expect(ended.exitCode).toBe(0);
    expect(ended.signal).toBeUndefined();
  }, 90_000);
});
