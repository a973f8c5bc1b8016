import { describe, expect, it } from "vitest";
import { openDatabase } from "../../../src/db/client.ts";
import { closeDeliveryPending, getDelivery } from "../../../src/db/deliveries.ts";
import { useMigrationTest } from "../../helpers/migrations.ts";

/**
 * Deliveries recorded when the payload was jsonb stay readable: migration 0008 moves each payload into
 * the text column and records the issue number an issues.* delivery is about (where it fits).
 */
describe("migration 0008 (deliveries.body)", () => {
  const { sql, url, migrateBefore, migrateAll } = useMigrationTest("0008");

  it("keeps old payloads readable and finds an old close by its issue", async () => {
    await migrateBefore();
    const closed = {
      action: "closed",
      issue: { number: 7, title: "ünïcode ✓" },
      repository: { full_name: "o/r" },
    };
    const odd = { action: "closed", issue: { number: 1e12 } };
    const other = { ref: "refs/heads/main", commits: [{ id: "abc" }] };
    await sql`insert into deliveries (id, event, action, repo_full_name, payload) values
      ('old-close', 'issues', 'closed', 'o/r', ${JSON.stringify(closed)}::jsonb),
      ('old-odd', 'issues', 'closed', 'o/r', ${JSON.stringify(odd)}::jsonb),
      ('old-push', 'push', null, 'o/r', ${JSON.stringify(other)}::jsonb)`;

    await migrateAll();

    const database = openDatabase(url, { max: 1 });
    try {
      expect(await getDelivery(database.db, "old-close")).toMatchObject({ issueNumber: 7, payload: closed });
      expect(await getDelivery(database.db, "old-odd")).toMatchObject({ issueNumber: null, payload: odd });
      expect(await getDelivery(database.db, "old-push")).toMatchObject({ issueNumber: null, payload: other });
      expect(await closeDeliveryPending(database.db, "O/R", 7)).toBe(true);
      expect(await closeDeliveryPending(database.db, "o/r", 8)).toBe(false);
    } finally {
      await database.close();
    }
  });
});
