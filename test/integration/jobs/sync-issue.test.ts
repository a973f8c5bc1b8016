import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { syncIssue, syncIssueJob } from "../../../jobs/sync-issue.ts";
import { markDeliveryDispatched, recordDelivery } from "../../../src/db/deliveries.ts";
import { upsertRepository } from "../../../src/db/repositories.ts";
import { dependencies, issues } from "../../../src/db/schema.ts";
import { findTask, triggerTask } from "../../../src/db/tasks.ts";
import { OCTO_REPO, issueLabeled } from "../../helpers/payloads.ts";
import { taskTrigger } from "../../helpers/tasks.ts";
import { useTestDatabase } from "../../helpers/db.ts";
import { createHarness, type Harness } from "../../helpers/drover.ts";
import { mockInstallationToken, useGitHubMock } from "../../helpers/github.ts";
import { issueJson } from "../../helpers/github-flows.ts";

const REPO = "octo-org/widgets";
const INSTALLATION = 77;

function rawIssue(number: number, fields: Record<string, unknown> = {}) {
  return { ...issueJson({ number, title: `Issue ${number}`, body: "", repo: REPO }), ...fields };
}

/** The link counts and the parent an issue carries (GitHub's `issue_dependencies_summary` and the rest). */
function linked(counts: { blockedBy: number; subIssues: number; parent?: number }) {
  return {
    issue_dependencies_summary: {
      blocked_by: counts.blockedBy,
      total_blocked_by: counts.blockedBy,
      blocking: 0,
      total_blocking: 0,
    },
    sub_issues_summary: { total: counts.subIssues, completed: 0, percent_completed: 0 },
    ...(counts.parent === undefined
      ? {}
      : { parent_issue_url: `https://api.github.com/repos/${REPO}/issues/${counts.parent}` }),
  };
}

/**
 * sync-issue reads an issue's place in the graph from GitHub: native "blocked by" links, blockers written
 * in its text (also in another repository), its sub-issues in order, and its parent. It reads only the
 * lists the issue says have something in them, and takes the parent from the issue (never GET …/parent).
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
    api.get(path("/issues/12")).reply(
      200,
      rawIssue(12, {
        body: "Blocked by #5 and other-org/place#45.\n\n```\nblocked by #99\n```",
        ...linked({ blockedBy: 1, subIssues: 2, parent: 1 }),
      }),
    );
    api
      .get(path("/issues/12/dependencies/blocked_by"))
      .query(true)
      .reply(200, [rawIssue(3, { state: "closed", state_reason: "completed" })]);
    api
      .get(path("/issues/12/sub_issues"))
      .query(true)
      .reply(200, [rawIssue(21), rawIssue(20)]);
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
    // The story's own links are read next (a job), so it waits for all of its sub-issues.
    const counts = await harness.queue.counts();
    expect(counts.wait).toBe(1);
  });

  // Builds on the rows the test above left in this file's database.
  it("drops links GitHub no longer reports", async () => {
    mockInstallationToken(github.api().persist(), INSTALLATION);
    const api = github.api();
    const path = (p: string) => `/repos/${REPO}${p}`;
    // No blocker left: the issue says so, and the empty list is not read.
    api
      .get(path("/issues/12"))
      .reply(200, rawIssue(12, { body: "No blockers any more.", ...linked({ blockedBy: 0, subIssues: 1 }) }));
    api
      .get(path("/issues/12/sub_issues"))
      .query(true)
      .reply(200, [rawIssue(20)]);

    await syncIssue(harness.deps, {
      installationId: INSTALLATION,
      repoFullName: REPO,
      number: 12,
      links: true,
      reread: true,
    });

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

  it("records a task's issue from an issues.* delivery, reading nothing; only the label's removal cancels it", async () => {
    const db = testDb.database().db;
    await upsertRepository(db, {
      id: OCTO_REPO.id,
      installationId: INSTALLATION,
      fullName: REPO,
      cloneUrl: OCTO_REPO.cloneUrl,
      defaultBranch: "main",
    });
    const trigger = await triggerTask(db, taskTrigger(30));
    if (trigger.kind !== "created") throw new Error("not created");
    /** A delivery as intake leaves one it queues only a sync for: recorded, dispatched, processed. */
    const event = async (id: string, action: string, fields: Record<string, unknown> = {}) => {
      const payload: Record<string, unknown> = {
        ...issueLabeled({ number: 30, title: "Renamed" }),
        action,
        ...fields,
      };
      (payload.issue as Record<string, unknown>).labels = [];
      await recordDelivery(db, {
        id,
        event: "issues",
        action,
        installationId: INSTALLATION,
        repoFullName: REPO,
        payload,
      });
      await markDeliveryDispatched(db, id, true);
    };
    const sync = (deliveryId: string) =>
      syncIssueJob(harness.deps, {
        installationId: INSTALLATION,
        repoFullName: REPO,
        number: 30,
        links: false,
        cause: deliveryId,
        deliveryId,
      });

    // issues.opened, processed after the label started the task: its labels are older than the task.
    await event("d-opened-30", "opened");
    await sync("d-opened-30");
    expect(await findTask(db, OCTO_REPO.id, 30)).toMatchObject({ state: "ready", title: "Renamed" });
    const row = (await db.select().from(issues)).find((r) => r.key === `${REPO}#30`);
    expect(row).toMatchObject({ title: "Renamed", labels: [] });

    // Another bot takes the label off: no close-task is queued for a bot, so the sync cancels it.
    await event("d-unlabeled-30", "unlabeled", {
      label: { name: "drover" },
      sender: { login: "triage-bot[bot]", id: 98, type: "Bot" },
    });
    await sync("d-unlabeled-30");
    expect(await findTask(db, OCTO_REPO.id, 30)).toMatchObject({ state: "cancelled" });
    // useGitHubMock fails the test on any request: none was made.
  });
});
