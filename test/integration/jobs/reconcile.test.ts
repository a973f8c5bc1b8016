import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { reconcile } from "../../../jobs/reconcile.ts";
import { DroverConfig } from "../../../src/config/schema.ts";
import { getDelivery } from "../../../src/db/deliveries.ts";
import { sql } from "drizzle-orm";
import type { Db } from "../../../src/db/client.ts";
import { upsertIssue } from "../../../src/db/graph-rows.ts";
import { deliveries, lastWritten, repositories, tasks, type TaskState } from "../../../src/db/schema.ts";
import { issueKey } from "../../../src/graph/model.ts";
import { useTestDatabase } from "../../helpers/db.ts";
import { createHarness, type Harness } from "../../helpers/drover.ts";
import { mockInstallationToken, useGitHubMock } from "../../helpers/github.ts";
import { issueJson } from "../../helpers/github-flows.ts";
import { labeledEventReply } from "../../helpers/github-replies.ts";
import { MAINTAINER } from "../../helpers/payloads.ts";
import { recordingQueue } from "./command-mocks.ts";

const REPO = { id: 5150, fullName: "octo-org/reconciled", installationId: 91 };
const PATH = `/repos/${REPO.fullName}`;

function rawIssue(number: number, updatedAt: string) {
  return {
    ...issueJson({ number, title: `Issue ${number}`, labels: ["drover"], repo: REPO.fullName }),
    updated_at: updatedAt,
  };
}

/** Reconcile: what GitHub shows that webhooks never told Drover, for as few requests as it can. */
describe("reconcile", () => {
  const testDb = useTestDatabase();
  const github = useGitHubMock();
  let harness: Harness;
  beforeEach(() => {
    harness = createHarness({ database: testDb.database(), home: "/tmp/drover-reconcile-test" });
  });
  afterEach(async () => harness.close());

  async function addTask(db: Db, number: number, state: TaskState = "waiting") {
    const [row] = await db
      .insert(tasks)
      .values({
        repoId: REPO.id,
        issueNumber: number,
        title: `Task ${number}`,
        state,
        createdBy: "hubber",
        branch: `drover/${number}-task`,
        config: DroverConfig.parse({}),
      })
      .returning();
    await upsertIssue(db, {
      key: issueKey(REPO.fullName, number),
      installationId: REPO.installationId,
      repoFullName: REPO.fullName,
      number,
      title: `Task ${number}`,
      labels: ["drover"],
      linksSyncedAt: new Date(),
    });
    return row!;
  }

  it("starts a labelled issue whose label webhook was missed, as the person who labelled it; then lists only what changed since", async () => {
    const db = testDb.database().db;
    await db.insert(repositories).values({ ...REPO, cloneUrl: "file:///nowhere", defaultBranch: "main" });
    await addTask(db, 1);
    mockInstallationToken(github.api().persist(), REPO.installationId);
    const api = github.api();
    // The first pass: the open labelled issues, oldest change first.
    api
      .get(`${PATH}/issues`)
      .query({ labels: "drover", state: "open", sort: "updated", direction: "asc", per_page: 100 })
      .reply(200, [rawIssue(1, "2026-01-02T03:04:05Z"), rawIssue(30, "2026-01-02T03:04:09Z")]);
    api
      .get(`${PATH}/issues/30/events`)
      .query(true)
      .reply(200, [
        labeledEventReply({
          id: 1,
          issue: 30,
          label: "bug",
          actor: { login: "someone", id: 5 },
          repo: REPO.fullName,
        }),
        labeledEventReply({ id: 777, issue: 30, label: "drover", actor: MAINTAINER, repo: REPO.fullName }),
      ]);

    const first = recordingQueue(harness.deps);
    await reconcile(first.deps, { at: 0 });

    const delivery = await getDelivery(db, `reconcile-${REPO.id}-30-777`);
    expect(delivery).toMatchObject({ event: "issues", action: "labeled" });
    expect(delivery?.payload).toMatchObject({
      issue: { number: 30 },
      label: { name: "drover" },
      sender: { login: "mona" },
      installation: { id: REPO.installationId },
    });
    // start-task (which authorises mona as always) and a sync of the known task are queued.
    expect(first.enqueued.sort()).toEqual(["start-task", "sync-issue"]);

    // The next pass asks only for what changed from the last change it saw on (the same second included:
    // a change made later in it is not missed), closed issues and any label included. Nothing did: one
    // request, and nothing is queued.
    github
      .api()
      .get(`${PATH}/issues`)
      .query({
        state: "all",
        since: "2026-01-02T03:04:09.000Z",
        sort: "updated",
        direction: "asc",
        per_page: 100,
      })
      .reply(200, []);
    const second = recordingQueue(harness.deps);
    await reconcile(second.deps, { at: 1 });
    expect(second.enqueued).toEqual([]);
    expect(await db.select().from(deliveries)).toHaveLength(1);
  });

  it("reads an unchanged open task again only every 4.5 to 6 hours, spread: well under one request an hour", async () => {
    const db = testDb.database().db;
    await db.insert(repositories).values({
      ...REPO,
      id: 5151,
      fullName: "octo-org/quiet",
      cloneUrl: "file:///nowhere",
      defaultBranch: "main",
    });
    const quiet = { ...REPO, id: 5151, fullName: "octo-org/quiet" };
    const count = 40;
    for (let number = 1; number <= count; number++) {
      await db.insert(tasks).values({
        repoId: quiet.id,
        issueNumber: number,
        title: `Task ${number}`,
        state: "waiting",
        createdBy: "hubber",
        branch: `drover/${number}-task`,
        config: DroverConfig.parse({}),
      });
      await upsertIssue(db, {
        key: issueKey(quiet.fullName, number),
        installationId: quiet.installationId,
        repoFullName: quiet.fullName,
        number,
        labels: ["drover"],
      });
    }
    mockInstallationToken(github.api().persist(), REPO.installationId);
    // Every pass lists what changed (nothing): one request per repository, not per task.
    github.optional().get(`/repos/${quiet.fullName}/issues`).query(true).reply(200, []);
    github.optional().get(`${PATH}/issues`).query(true).reply(200, []);

    const revisitedAfter = async (hours: number) => {
      await db.execute(
        sql`update issues set synced_at = now() - make_interval(secs => ${hours * 3600}) where repo_full_name = ${quiet.fullName}`,
      );
      const pass = recordingQueue(harness.deps);
      await reconcile(pass.deps, { at: hours });
      return pass.enqueued.filter((name) => name === "sync-issue").length;
    };
    expect(await revisitedAfter(0)).toBe(0);
    expect(await revisitedAfter(4)).toBe(0);
    const spread = await revisitedAfter(5.25);
    expect(spread).toBeGreaterThan(0);
    expect(spread).toBeLessThan(count);
    expect(await revisitedAfter(6)).toBe(count);
    // A revisit is one sync (the issue and its links, asked conditionally): at most 4 requests per 4.5
    // hours for each unchanged open task, under one an hour; the listing is one request per repository.
  });

  it("makes the status edits held back while the rate limit ran low once the installation may again", async () => {
    const db = testDb.database().db;
    const owedRepo = { ...REPO, id: 5152, fullName: "octo-org/owed" };
    await db.insert(repositories).values({ ...owedRepo, cloneUrl: "file:///nowhere", defaultBranch: "main" });
    const [task] = await db
      .insert(tasks)
      .values({
        repoId: owedRepo.id,
        issueNumber: 3,
        title: "Owed",
        state: "running",
        createdBy: "hubber",
        branch: "drover/3-owed",
        config: DroverConfig.parse({}),
      })
      .returning();
    const key = issueKey(owedRepo.fullName, 3);
    await upsertIssue(db, {
      key,
      installationId: owedRepo.installationId,
      repoFullName: owedRepo.fullName,
      number: 3,
      labels: ["drover"],
    });
    await db
      .insert(lastWritten)
      .values({ key, statusCommentId: 77, statusHash: "old", owedSince: new Date() });
    mockInstallationToken(github.api().persist(), REPO.installationId);
    github
      .optional()
      .get(/\/repos\/octo-org\/[a-z]+\/issues$/)
      .query(true)
      .reply(200, []);

    const stillLow = recordingQueue(harness.deps);
    await reconcile(stillLow.deps, { at: 0 }, () => true);
    expect(stillLow.enqueued).not.toContain("announce");

    const recovered = recordingQueue(harness.deps);
    await reconcile(recovered.deps, { at: 1 }, () => false);
    expect(recovered.enqueued).toContain("announce");
    expect(task).toBeDefined();
  });
});
