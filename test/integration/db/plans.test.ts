import { setTimeout as sleep } from "node:timers/promises";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { Db } from "../../../src/db/client.ts";
import { recordPlanRun } from "../../../src/db/plans.ts";
import { upsertRepository } from "../../../src/db/repositories.ts";
import { backlogItem } from "../../helpers/backlog.ts";
import { useTestDatabase } from "../../helpers/db.ts";
import { OCTO_REPO } from "../../helpers/payloads.ts";

const items = [backlogItem("T1", { title: "Do it", priority: 5 })];
const proposal = (runKey: string, issueNumber: number) => ({
  runKey,
  repoId: OCTO_REPO.id,
  issueNumber,
  requestedBy: "maintainer",
  body: `proposal ${runKey}`,
  outcome: { items },
});

/** A query of this database waiting on a lock: the insert raced is blocked on the other's row. */
async function someoneWaits(db: Db): Promise<void> {
  for (let tries = 0; tries < 100; tries += 1) {
    const rows = await db.execute<{ waiting: number }>(
      sql`select count(*)::int as waiting from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock'`,
    );
    if ((rows[0]?.waiting ?? 0) > 0) return;
    await sleep(50);
  }
  throw new Error("no insert waited on the other");
}

describe("recordPlanRun", () => {
  const { database } = useTestDatabase();
  const db = () => database().db;

  it("gives two proposals of one issue finishing together each their own version, neither lost", async () => {
    await upsertRepository(db(), OCTO_REPO);
    // The first holds its version 1 uncommitted while the second computes the same and waits on it.
    let second: ReturnType<typeof recordPlanRun> | undefined;
    const first = await db().transaction(async (tx) => {
      const row = await recordPlanRun(tx as unknown as Db, proposal("a#0", 7));
      second = recordPlanRun(db(), proposal("b#0", 7));
      second.catch(() => {});
      await someoneWaits(db());
      return row;
    });
    const later = await second!;
    expect([first.version, later.version]).toEqual([1, 2]);
    expect(later.body).toBe("proposal b#0");
  });

  it("records the same run once, however often it is recorded", async () => {
    const [a, b] = await Promise.all([
      recordPlanRun(db(), proposal("c#0", 8)),
      recordPlanRun(db(), proposal("c#0", 8)),
    ]);
    expect(a.id).toBe(b.id);
    expect(a.version).toBe(1);
  });
});
