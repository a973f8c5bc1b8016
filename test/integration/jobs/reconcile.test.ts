import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { reconcile } from "../../../jobs/reconcile.ts";
import { DroverConfig } from "../../../src/config/schema.ts";
import { getDelivery } from "../../../src/db/deliveries.ts";
import { deliveries, repositories, tasks } from "../../../src/db/schema.ts";
import { useTestDatabase } from "../../helpers/db.ts";
import { createHarness, type Harness } from "../../helpers/drover.ts";
import { mockInstallationToken, useGitHubMock } from "../../helpers/github.ts";
import { issueJson } from "../../helpers/github-flows.ts";
import { labeledEventReply } from "../../helpers/github-replies.ts";
import { MAINTAINER } from "../../helpers/payloads.ts";

const REPO = { id: 5150, fullName: "octo-org/reconciled", installationId: 91 };
const PATH = `/repos/${REPO.fullName}`;

function rawIssue(number: number) {
  return issueJson({ number, title: `Issue ${number}`, labels: ["drover"], repo: REPO.fullName });
}

/** Reconcile: what GitHub shows that webhooks never told Drover. */
describe("reconcile", () => {
  const testDb = useTestDatabase();
  const github = useGitHubMock();
  let harness: Harness;
  beforeEach(() => {
    harness = createHarness({ database: testDb.database(), home: "/tmp/drover-reconcile-test" });
  });
  afterEach(async () => harness.close());

  it("starts a labelled issue whose label webhook was missed, as the person who labelled it; then asks GitHub conditionally", async () => {
    const db = testDb.database().db;
    await db.insert(repositories).values({ ...REPO, cloneUrl: "file:///nowhere", defaultBranch: "main" });
    await db.insert(tasks).values({
      repoId: REPO.id,
      issueNumber: 1,
      title: "Known task",
      state: "waiting",
      createdBy: "hubber",
      branch: "drover/1-known-task",
      config: DroverConfig.parse({}),
    });
    mockInstallationToken(github.api().persist(), REPO.installationId);
    const api = github.api();
    api
      .get(`${PATH}/issues`)
      .query({ labels: "drover", state: "open", sort: "updated", per_page: 100 })
      .reply(200, [rawIssue(1), rawIssue(30)], { etag: '"page-1-v1"' });
    // Read on each pass while #30 has no task yet (start-task has not run in this test).
    api
      .get(`${PATH}/issues/30/events`)
      .query(true)
      .times(2)
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

    await reconcile(harness.deps, { at: 0 });

    const delivery = await getDelivery(db, `reconcile-${REPO.id}-30-777`);
    expect(delivery).toMatchObject({ event: "issues", action: "labeled" });
    expect(delivery?.payload).toMatchObject({
      issue: { number: 30 },
      label: { name: "drover" },
      sender: { login: "mona" },
      installation: { id: REPO.installationId },
    });
    // start-task (which authorises mona as always) and a sync of the known task are queued.
    expect((await harness.queue.counts()).wait).toBe(2);

    // Nothing changed on GitHub: the list costs one conditional request answered 304, and the same
    // labelling is not started twice.
    github.api().get(`${PATH}/issues`).query(true).matchHeader("if-none-match", '"page-1-v1"').reply(304);
    await reconcile(harness.deps, { at: 1 });
    expect(await db.select().from(deliveries)).toHaveLength(1);
  });
});
