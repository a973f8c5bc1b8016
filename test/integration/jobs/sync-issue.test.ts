import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { syncIssue, syncIssueJob } from "../../../jobs/sync-issue.ts";
import { markDeliveryDispatched, recordDelivery } from "../../../src/db/deliveries.ts";
import { replaceEdges } from "../../../src/db/graph-rows.ts";
import { withIssueLock } from "../../../src/db/issue-lock.ts";
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

  /** A task on issue `number` in a known repository. */
  async function addTask(number: number) {
    const db = testDb.database().db;
    await upsertRepository(db, {
      id: OCTO_REPO.id,
      installationId: INSTALLATION,
      fullName: REPO,
      cloneUrl: OCTO_REPO.cloneUrl,
      defaultBranch: "main",
    });
    const trigger = await triggerTask(db, taskTrigger(number));
    if (trigger.kind !== "created") throw new Error("not created");
  }

  /** An issues.* delivery for issue `number`, recorded; `dispatched`: intake has marked it so. */
  async function issueEvent(
    id: string,
    number: number,
    action: string,
    issue: { title: string; labels: string[]; updatedAt: string },
    options: { sender?: Record<string, unknown>; dispatched?: boolean } = {},
  ) {
    const db = testDb.database().db;
    const payload: Record<string, unknown> = {
      ...issueLabeled({ number, title: issue.title }),
      action,
      label: { name: "drover" },
      ...(options.sender ? { sender: options.sender } : {}),
    };
    Object.assign(payload.issue as Record<string, unknown>, {
      labels: issue.labels.map((name) => ({ name })),
      updated_at: issue.updatedAt,
    });
    await recordDelivery(db, {
      id,
      event: "issues",
      action,
      installationId: INSTALLATION,
      repoFullName: REPO,
      payload,
    });
    if (options.dispatched ?? true) await markDeliveryDispatched(db, id, true);
  }

  const syncDelivery = (number: number, deliveryId: string) =>
    syncIssueJob(harness.deps, {
      installationId: INSTALLATION,
      repoFullName: REPO,
      number,
      links: false,
      cause: deliveryId,
      deliveryId,
    });

  it("keeps the newer issue when an older payload is applied after it, and still records what is Drover's own", async () => {
    const db = testDb.database().db;
    await addTask(40);
    // A label added at :20, processed before an edit made at :10 (webhooks arrive out of order).
    await issueEvent("d-labeled-40", 40, "labeled", {
      title: "New title",
      labels: ["drover", "bug"],
      updatedAt: "2026-03-01T10:00:20Z",
    });
    await issueEvent("d-edited-40", 40, "edited", {
      title: "Old title",
      labels: ["drover"],
      updatedAt: "2026-03-01T10:00:10Z",
    });
    await syncDelivery(40, "d-labeled-40");
    await syncDelivery(40, "d-edited-40");

    const row = () => db.query.issues.findFirst({ where: eq(issues.key, `${REPO}#40`) });
    expect(await row()).toMatchObject({
      title: "New title",
      labels: ["drover", "bug"],
      githubUpdatedAt: new Date("2026-03-01T10:00:20Z"),
    });
    expect(await findTask(db, OCTO_REPO.id, 40)).toMatchObject({ title: "New title", state: "ready" });

    // A read from GitHub older still (a slow replica): its facts are left out, its links are recorded.
    mockInstallationToken(github.api().persist(), INSTALLATION);
    github
      .api()
      .get(`/repos/${REPO}/issues/40`)
      .reply(200, {
        ...rawIssue(40, { title: "Older title", updated_at: "2026-03-01T10:00:00Z" }),
        ...linked({ blockedBy: 0, subIssues: 0, parent: 12 }),
      });
    await syncLinks(40);
    expect(await row()).toMatchObject({ title: "New title", labels: ["drover", "bug"] });
    expect((await row())?.linksSyncedAt).toBeInstanceOf(Date);

    // A newer one is applied.
    await issueEvent("d-edited-40b", 40, "edited", {
      title: "Newest title",
      labels: ["drover"],
      updatedAt: "2026-03-01T10:00:30Z",
    });
    await syncDelivery(40, "d-edited-40b");
    expect(await row()).toMatchObject({ title: "Newest title", labels: ["drover"] });
  });

  it("keeps every link when several blocked_by_added deliveries for one issue are applied at once", async () => {
    const db = testDb.database().db;
    // As many as a worker's main lane runs at once (each holds a connection for the lock: see withIssueLock).
    const blockers = [61, 62, 63, 64];
    for (const blocker of blockers) {
      await recordDelivery(db, {
        id: `d-link-60-${blocker}`,
        event: "issue_dependencies",
        action: "blocked_by_added",
        installationId: INSTALLATION,
        repoFullName: REPO,
        payload: {
          action: "blocked_by_added",
          blocked_issue: rawIssue(60),
          blocking_issue: rawIssue(blocker),
          installation: { id: INSTALLATION },
          repository: { id: OCTO_REPO.id, full_name: REPO },
        },
      });
    }
    await Promise.all(
      blockers.map((blocker) =>
        syncIssueJob(harness.deps, {
          installationId: INSTALLATION,
          repoFullName: REPO,
          number: 60,
          links: true,
          deliveryId: `d-link-60-${blocker}`,
        }),
      ),
    );
    const edges = await db
      .select()
      .from(dependencies)
      .where(eq(dependencies.dependent, `${REPO}#60`));
    expect(edges.map((e) => e.blocker).sort()).toEqual(blockers.map((n) => `${REPO}#${n}`).sort());
    // Nothing was read: both issues are in each payload.

    // A start holds the issue's lock whole while it reads the list and records it: a link made meanwhile
    // is applied after that list is recorded, not overwritten by it.
    await recordDelivery(db, {
      id: "d-link-60-67",
      event: "issue_dependencies",
      action: "blocked_by_added",
      installationId: INSTALLATION,
      repoFullName: REPO,
      payload: {
        action: "blocked_by_added",
        blocked_issue: rawIssue(60),
        blocking_issue: rawIssue(67),
        installation: { id: INSTALLATION },
        repository: { id: OCTO_REPO.id, full_name: REPO },
      },
    });
    let link: Promise<void> | undefined;
    await withIssueLock(db, OCTO_REPO.id, 60, async () => {
      link = syncIssueJob(harness.deps, {
        installationId: INSTALLATION,
        repoFullName: REPO,
        number: 60,
        links: true,
        deliveryId: "d-link-60-67",
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      // The list as the start read it, before the link was made.
      await replaceEdges(db, `${REPO}#60`, "native", [`${REPO}#61`]);
    });
    await link;
    const after = await db
      .select()
      .from(dependencies)
      .where(eq(dependencies.dependent, `${REPO}#60`));
    expect(after.map((e) => e.blocker).sort()).toEqual([`${REPO}#61`, `${REPO}#67`]);
  });

  it("a bot's label removal cancels the task even when its sync runs before intake marks the delivery processed", async () => {
    const db = testDb.database().db;
    await addTask(41);
    const bot = { login: "triage-bot[bot]", id: 98, type: "Bot" };
    const at = { title: "Task 41", labels: [], updatedAt: "2026-03-01T11:00:00Z" };
    // Intake queued the sync and has not marked the delivery yet: no close-task is coming for a bot.
    await issueEvent("d-unlabeled-41", 41, "unlabeled", at, { sender: bot, dispatched: false });
    await syncDelivery(41, "d-unlabeled-41");
    expect(await findTask(db, OCTO_REPO.id, 41)).toMatchObject({ state: "cancelled" });

    // A person's removal: close-task is queued for it and cancels the task crediting them; the sync of
    // the same delivery leaves it to close-task.
    await addTask(42);
    await issueEvent("d-unlabeled-42", 42, "unlabeled", { ...at, title: "Task 42" }, { dispatched: false });
    await syncDelivery(42, "d-unlabeled-42");
    expect(await findTask(db, OCTO_REPO.id, 42)).toMatchObject({ state: "ready" });
  });
});
