import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { syncIssue } from "../../../jobs/sync-issue.ts";
import { dependencies, issues } from "../../../src/db/schema.ts";
import { useTestDatabase } from "../../helpers/db.ts";
import { createHarness, type Harness } from "../../helpers/drover.ts";
import { mockInstallationToken, useGitHubMock } from "../../helpers/github.ts";
import { issueJson } from "../../helpers/github-flows.ts";

const REPO = "octo-org/widgets";
const INSTALLATION = 77;

function rawIssue(number: number, fields: Record<string, unknown> = {}) {
  return { ...issueJson({ number, title: `Issue ${number}`, body: "", repo: REPO }), ...fields };
}

/**
 * sync-issue reads an issue's place in the graph from GitHub: native "blocked by" links, blockers written
 * in its text (also in another repository), its sub-issues in order, and its parent.
 */
describe("syncIssue", () => {
  const testDb = useTestDatabase();
  const github = useGitHubMock();
  let harness: Harness;
  // A harness per test: each exchanges its own installation token.
  beforeEach(() => {
    harness = createHarness({ database: testDb.database(), home: "/tmp/drover-sync-test" });
  });
  afterEach(async () => harness.close());
  /** sync-issue for issue `number`, reading its links. */
  const syncLinks = (number: number) =>
    syncIssue(harness.deps, { installationId: INSTALLATION, repoFullName: REPO, number, links: true });

  it("records native links, text links, sub-issues and the parent, with an unreadable blocker and why", async () => {
    mockInstallationToken(github.api().persist(), INSTALLATION);
    const api = github.api();
    const path = (p: string) => `/repos/${REPO}${p}`;
    api
      .get(path("/issues/12"))
      .reply(
        200,
        rawIssue(12, { body: "Blocked by #5 and other-org/place#45.\n\n```\nblocked by #99\n```" }),
      );
    api
      .get(path("/issues/12/dependencies/blocked_by"))
      .query(true)
      .reply(200, [rawIssue(3, { state: "closed", state_reason: "completed" })]);
    api
      .get(path("/issues/12/sub_issues"))
      .query(true)
      .reply(200, [rawIssue(21), rawIssue(20)]);
    api.get(path("/issues/12/parent")).reply(200, rawIssue(1, { title: "The story" }));
    api.get(path("/issues/5")).reply(200, rawIssue(5, { state: "closed", state_reason: "not_planned" }));
    api.get("/repos/other-org/place/issues/45").reply(404, { message: "Not Found" });

    await syncLinks(12);

    const db = testDb.database().db;
    const edges = (await db.select().from(dependencies)).map(
      (e) => `${e.dependent} <- ${e.blocker} (${e.source})`,
    );
    expect(edges.sort()).toEqual(
      [
        "octo-org/widgets#12 <- octo-org/widgets#3 (native)",
        "octo-org/widgets#12 <- octo-org/widgets#5 (body)",
        "octo-org/widgets#12 <- other-org/place#45 (body)",
        "octo-org/widgets#12 <- octo-org/widgets#21 (sub-issue)",
        "octo-org/widgets#12 <- octo-org/widgets#20 (sub-issue)",
      ].sort(),
    );
    const rows = new Map((await db.select().from(issues)).map((row) => [row.key, row]));
    expect(rows.get("octo-org/widgets#3")).toMatchObject({ state: "closed", closedAs: "completed" });
    expect(rows.get("octo-org/widgets#5")).toMatchObject({ state: "closed", closedAs: "not_planned" });
    expect(rows.get("other-org/place#45")).toMatchObject({ readable: false });
    expect(rows.get("other-org/place#45")?.unreadableReason).toContain("not installed on other-org/place");
    // Sub-issues keep GitHub's order.
    expect(rows.get("octo-org/widgets#21")).toMatchObject({ parentKey: "octo-org/widgets#12", subOrder: 0 });
    expect(rows.get("octo-org/widgets#20")).toMatchObject({ parentKey: "octo-org/widgets#12", subOrder: 1 });
    expect(rows.get("octo-org/widgets#12")?.linksSyncedAt).toBeInstanceOf(Date);
    // The story's own links are read next, so it waits for all of its sub-issues.
    expect(rows.get("octo-org/widgets#1")).toMatchObject({ title: "The story" });
    const counts = await harness.queue.counts();
    expect(counts.wait).toBe(1);
  });

  // Builds on the rows the test above left in this file's database.
  it("drops links GitHub no longer reports", async () => {
    mockInstallationToken(github.api().persist(), INSTALLATION);
    const api = github.api();
    const path = (p: string) => `/repos/${REPO}${p}`;
    api.get(path("/issues/12")).reply(200, rawIssue(12, { body: "No blockers any more." }));
    api.get(path("/issues/12/dependencies/blocked_by")).query(true).reply(200, []);
    api
      .get(path("/issues/12/sub_issues"))
      .query(true)
      .reply(200, [rawIssue(20)]);
    api.get(path("/issues/12/parent")).reply(404, { message: "Not Found" });

    await syncLinks(12);

    const db = testDb.database().db;
    const edges = (await db.select().from(dependencies)).map((e) => `${e.blocker} (${e.source})`);
    expect(edges).toEqual(["octo-org/widgets#20 (sub-issue)"]);
    const rows = new Map((await db.select().from(issues)).map((row) => [row.key, row]));
    expect(rows.get("octo-org/widgets#21")).toMatchObject({ parentKey: null });
  });

  it("does not call GitHub for an issue Drover knows nothing about", async () => {
    await syncIssue(harness.deps, {
      installationId: INSTALLATION,
      repoFullName: REPO,
      number: 404,
      links: false,
    });
    // useGitHubMock fails the test on any request no mock answered; nothing is recorded either.
    const rows = await testDb.database().db.select().from(issues);
    expect(rows.map((row) => row.key)).not.toContain("octo-org/widgets#404");
  });
});
