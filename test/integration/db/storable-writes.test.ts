import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { getIssue, upsertIssue } from "../../../src/db/graph-rows.ts";
import { events } from "../../../src/db/schema.ts";
import { useTestDatabase } from "../../helpers/db.ts";

/**
 * Text GitHub can send and PostgreSQL refuses (NUL; a lone surrogate in JSON) is written with U+FFFD in
 * its place, instead of failing the write and every try of the job behind it.
 */
describe("writes PostgreSQL would refuse", () => {
  const testDb = useTestDatabase();
  const db = () => testDb.database().db;

  it("stores an issue whose title and labels hold NUL and a lone surrogate", async () => {
    await upsertIssue(db(), {
      key: "octo/odd#1",
      installationId: 1,
      repoFullName: "octo/odd",
      number: 1,
      title: "Fix\u0000 the\ud800 parser",
      labels: ["bug\u0000", "x\udc00"],
    });
    expect(await getIssue(db(), "octo/odd#1")).toMatchObject({
      title: "Fix\uFFFD the\uFFFD parser",
      labels: ["bug\uFFFD", "x\uFFFD"],
    });
  });

  it("stores event data with NUL, keeping an escaped backslash as text", async () => {
    const [row] = await db()
      .insert(events)
      .values({ type: "task.hinted", data: { hint: "use \\u0000 literally\u0000" } })
      .returning({ id: events.id });
    const [stored] = await db().select().from(events).where(eq(events.id, row!.id));
    expect(stored!.data).toEqual({ hint: "use \\u0000 literally\uFFFD" });
  });
});
