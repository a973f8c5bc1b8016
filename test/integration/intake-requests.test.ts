import pino from "pino";
import { Probot } from "probot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTask } from "../../jobs/start-task.ts";
import { syncIssueJob } from "../../jobs/sync-issue.ts";
import { edgesOf, getIssue } from "../../src/db/graph-rows.ts";
import { GitHubApp } from "../../src/github/app.ts";
import { issueKey } from "../../src/graph/model.ts";
import { receiveWebhook } from "../../src/intake/receive.ts";
import type { Enqueue, JobName, JobPayload } from "../../src/queue/job-catalog.ts";
import { APP_SLUG } from "../../src/sandbox/seed.ts";
import { useTestDatabase } from "../helpers/db.ts";
import { startTestSandbox, type TestSandbox } from "../helpers/sandbox.ts";

/**
 * What a person's action costs in requests to GitHub, counted on the sandbox (our GitHub, which records
 * every answer it gives): the webhooks it sends go through intake, and the jobs intake queues for them
 * (syncs and start-task) run, each once. The installation token exchange is not counted (it is made once
 * an hour, whatever the traffic).
 */
type Queued = { name: JobName; payload: unknown };

describe("requests a person's action costs", () => {
  const testDb = useTestDatabase();
  let hub: TestSandbox;
  let github: GitHubApp;
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
  const queued: Queued[] = [];
  const enqueue: Enqueue = async <N extends JobName>(name: N, payload: JobPayload<N>) => {
    queued.push({ name, payload });
  };
  let repo: { owner: string; repo: string };
  let delivered = 0;

  beforeAll(async () => {
    hub = await startTestSandbox();
    const probot = new Probot({
      appId: hub.sandbox.appId,
      privateKey: hub.sandbox.privateKey,
      baseUrl: hub.api,
      log,
    });
    github = new GitHubApp(probot);
    repo = await hub.newRepo("requests", { autoInit: false });
  }, 30_000);
  afterAll(async () => hub?.close());

  const maintainer = () => hub.as("maintainer");
  const deps = () => ({
    db: testDb.database().db,
    enqueue,
    github,
    env: { DROVER_HOME: "/tmp/drover-requests-test", DROVER_AGENT_ENV: [] },
    log,
    workerId: "requests-test",
    capacity: async () => 2,
  });

  /**
   * The webhooks sent since the last call, into intake; then the sync and start jobs queued for them (and
   * any they queue) run. Returns the requests Drover made meanwhile, as `METHOD /route`.
   */
  async function deliverAndRun(): Promise<string[]> {
    const hooks = await hub.deliveries(delivered);
    delivered += hooks.length;
    const from = hub.responses.length;
    for (const hook of hooks) {
      await receiveWebhook(
        { db: testDb.database().db, enqueue, log, botLogin: `${APP_SLUG}[bot]` },
        { id: hook.id, name: hook.event, payload: hook.payload },
      );
    }
    for (let job = queued.shift(); job; job = queued.shift()) {
      if (job.name === "sync-issue") await syncIssueJob(deps(), job.payload as JobPayload<"sync-issue">);
      if (job.name === "start-task") await startTask(deps(), job.payload as JobPayload<"start-task">);
    }
    // Drover's own writes send webhooks too: they go through intake the next time round.
    return hub.responses
      .slice(from)
      .filter((r) => !r.path.endsWith("/access_tokens"))
      .map((r) => `${r.method} ${r.path}`);
  }

  const reads = (requests: string[]) => requests.filter((r) => r.startsWith("GET "));
  /** The requests that read an issue or its links: what intake's syncs cost. */
  const issueReads = (requests: string[]) =>
    reads(requests).filter((r) =>
      /\/issues\/\{issue_number\}(\/(dependencies|sub_issues|parent).*)?$/.test(r),
    );

  it("an issue opened without the Drover label, linked to nothing, costs nothing", async () => {
    await maintainer().rest.issues.create({ ...repo, title: "Not for Drover" });
    expect(await deliverAndRun()).toEqual([]);
  });

  it("labelling an issue reads none of it: the issue, its labels and its link counts come with the label", async () => {
    const { data: issue } = await maintainer().rest.issues.create({ ...repo, title: "Add a changelog" });
    expect(await deliverAndRun()).toEqual([]);
    await maintainer().rest.issues.addLabels({ ...repo, issue_number: issue.number, labels: ["drover"] });
    const requests = await deliverAndRun();
    expect(issueReads(requests)).toEqual([]);
    console.log(`labelled issue, no links: ${requests.length} requests: ${requests.join(", ")}`);
    // Drover's own writes (its status comment) come back as webhooks and cost nothing more.
    expect(await deliverAndRun()).toEqual([]);
  });

  it("a native link costs nothing when made and one read of the list when its issue is labelled", async () => {
    const { data: blocker } = await maintainer().rest.issues.create({ ...repo, title: "Blocker" });
    const { data: blocked } = await maintainer().rest.issues.create({ ...repo, title: "Blocked" });
    await deliverAndRun();
    await maintainer().rest.issues.addBlockedByDependency({
      ...repo,
      issue_number: blocked.number,
      issue_id: blocker.id,
    });
    const hooks = (await hub.deliveries(delivered)).map((h) => `${h.event}.${h.action}`);
    expect(hooks).toEqual(["issue_dependencies.blocked_by_added", "issue_dependencies.blocking_added"]);
    expect(await deliverAndRun()).toEqual([]);
    const key = (n: number) => issueKey(`${repo.owner}/${repo.repo}`, n);
    expect((await edgesOf(testDb.database().db, key(blocked.number))).map((e) => e.blocker)).toEqual([
      key(blocker.number),
    ]);

    await maintainer().rest.issues.addLabels({ ...repo, issue_number: blocked.number, labels: ["drover"] });
    const requests = await deliverAndRun();
    expect(issueReads(requests)).toEqual([
      "GET /repos/{owner}/{repo}/issues/{issue_number}/dependencies/blocked_by",
    ]);
    console.log(`labelled issue, one blocker: ${requests.length} requests: ${requests.join(", ")}`);

    // The link removed: applied from the payload again.
    await maintainer().rest.issues.removeDependencyBlockedBy({
      ...repo,
      issue_number: blocked.number,
      issue_id: blocker.id,
    });
    expect(issueReads(await deliverAndRun())).toEqual([]);
    expect(await edgesOf(testDb.database().db, key(blocked.number))).toEqual([]);
  });

  it("a sub-issue's parent comes from the payload and the sub-issue webhooks, never from GET …/parent", async () => {
    const { data: story } = await maintainer().rest.issues.create({ ...repo, title: "Story" });
    const { data: child } = await maintainer().rest.issues.create({ ...repo, title: "Part" });
    await deliverAndRun();
    await maintainer().rest.issues.addSubIssue({
      ...repo,
      issue_number: story.number,
      sub_issue_id: child.id,
    });
    expect(await deliverAndRun()).toEqual([]);
    const key = (n: number) => issueKey(`${repo.owner}/${repo.repo}`, n);
    expect(await getIssue(testDb.database().db, key(child.number))).toMatchObject({
      parentKey: key(story.number),
      subOrder: 0,
    });

    await maintainer().rest.issues.addLabels({ ...repo, issue_number: child.number, labels: ["drover"] });
    const requests = await deliverAndRun();
    // The story's own links are read once (for its checklist and its order): the story and its list.
    expect(issueReads(requests).sort()).toEqual([
      "GET /repos/{owner}/{repo}/issues/{issue_number}",
      "GET /repos/{owner}/{repo}/issues/{issue_number}/sub_issues",
    ]);
    expect(requests.filter((r) => r.endsWith("/parent"))).toEqual([]);
  });

  it("labelling a story reads its list once and each open sub-issue once, when it becomes a task", async () => {
    const { data: story } = await maintainer().rest.issues.create({ ...repo, title: "Big story" });
    const parts = [];
    for (const title of ["First part", "Second part"]) {
      const { data: part } = await maintainer().rest.issues.create({ ...repo, title });
      await maintainer().rest.issues.addSubIssue({
        ...repo,
        issue_number: story.number,
        sub_issue_id: part.id,
      });
      parts.push(part);
    }
    await deliverAndRun();

    await maintainer().rest.issues.addLabels({ ...repo, issue_number: story.number, labels: ["drover"] });
    const requests = await deliverAndRun();
    console.log(`labelled story, two sub-issues: ${requests.length} requests: ${requests.join(", ")}`);
    // The story's list (its payload counts two); each part read for its author and state, and the app's
    // label on it; no part's links (each counts none).
    expect(issueReads(requests).sort()).toEqual([
      "GET /repos/{owner}/{repo}/issues/{issue_number}",
      "GET /repos/{owner}/{repo}/issues/{issue_number}",
      "GET /repos/{owner}/{repo}/issues/{issue_number}/sub_issues",
    ]);
    const tasks = requests.filter((r) => r === "POST /repos/{owner}/{repo}/issues/{issue_number}/labels");
    expect(tasks).toHaveLength(parts.length);
  });
});
