import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { startTask } from "../../../jobs/start-task.ts";
import { recordDelivery } from "../../../src/db/deliveries.ts";
import { getLastWritten } from "../../../src/db/last-written.ts";
import { deliveries, events } from "../../../src/db/schema.ts";
import { updateTask } from "../../../src/db/tasks.ts";
import { STATUS_MARKER } from "../../../src/github/comments.ts";
import { issueKey } from "../../../src/graph/model.ts";
import { useDrover } from "../../helpers/drover.ts";
import { mockInstallationToken } from "../../helpers/github.ts";
import {
  addedOnce,
  agentConfig,
  mockConfig,
  mockFirstStatus,
  mockIssueState,
  mockLabelledRun,
  mockPermission,
  mockReply,
  mockRunThatFails,
  mockSync,
  originBranches,
  recorder,
  runDirs,
  taskOf,
  REPO_PATH,
} from "../../helpers/github-flows.ts";
import { MAINTAINER, issueLabeled, type TestUser } from "../../helpers/payloads.ts";

/**
 * start-task through the real queue: who may start Drover, which label starts it, what a bad drover.yml
 * says, and a delivery that arrives twice. Each test asserts what shows on the issue and on origin.
 * An `issues.labeled` delivery queues start-task alone, which is the label's one sync: the issue and its
 * labels come from the payload, whose link counts say there is nothing else to read, so no test here
 * mocks a sync.
 */
describe("start-task", () => {
  // A harness per test: each reads the bot identity and the installation token afresh.
  const { db, harness, sandbox, repo, github } = useDrover();

  async function outcomeOf(deliveryId: string): Promise<string | null | undefined> {
    const [row] = await db().select().from(deliveries).where(eq(deliveries.id, deliveryId));
    return row?.outcome;
  }

  it("refuses a person with read access: one reply naming write access and the label, no task", async () => {
    const reader: TestUser = { login: "reader", id: 303 };
    const sent = recorder();
    const api = github.api();
    mockInstallationToken(github.api().persist(), repo().installationId);
    mockConfig(api, "label: ai-task\n");
    mockPermission(api, reader.login, "read");
    mockReply(api, sent, 1);

    await harness().receive(
      "issues",
      issueLabeled({ repo: repo(), number: 1, title: "Nope", label: "ai-task", sender: reader }),
      "d-read",
    );
    await harness().drain();

    expect(sent.comments).toHaveLength(1);
    const body = sent.comments[0]?.body ?? "";
    expect(body).toContain("Drover did not start");
    expect(body).toContain("@reader has `read` access");
    expect(body).toMatch(/write, maintain or admin access/);
    expect(body).toContain("`ai-task` label");
    expect(body.startsWith(STATUS_MARKER)).toBe(false);
    expect(await taskOf(db(), repo(), 1)).toEqual({ task: undefined, attempts: [] });
    expect(await runDirs(sandbox().home, repo(), 1)).toEqual([]);
    expect(await originBranches(sandbox().origin)).toEqual(["main"]);
    expect(await outcomeOf("d-read")).toBe("refused: permission");
  });

  it("waits out GitHub's secondary rate limit instead of failing, then answers", async () => {
    const reader: TestUser = { login: "reader", id: 303 };
    const sent = recorder();
    const api = github.api();
    mockInstallationToken(github.api().persist(), repo().installationId);
    // Rate-limited five times (GitHub says: wait a second), as many as start-task's tries: a retry would
    // have used them all up and failed the job; waiting costs none.
    for (let i = 0; i < 5; i++) mockConfig(api, "label: drover\n");
    api.get(`${REPO_PATH}/collaborators/reader/permission`).times(5).reply(
      403,
      {
        message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
      },
      { "retry-after": "1" },
    );
    mockConfig(api, "label: drover\n");
    mockPermission(api, reader.login, "read");
    mockReply(api, sent, 2);

    const started = Date.now();
    await harness().receive(
      "issues",
      issueLabeled({ repo: repo(), number: 2, title: "Later", sender: reader }),
      "d-limited",
    );
    await harness().drain();

    expect(Date.now() - started).toBeGreaterThanOrEqual(5_000);
    expect(sent.comments.map((c) => c.body)).toEqual([expect.stringContaining("@reader has `read` access")]);
    expect(await outcomeOf("d-limited")).toBe("refused: permission");
  });

  it.each([
    { what: "a Bot account", sender: { login: "dependabot[bot]", id: 49699333, type: "Bot" as const } },
    {
      what: "a [bot] login typed as User",
      sender: { login: "helper[bot]", id: 49699334, type: "User" as const },
    },
  ])("starts nothing for a label $what added, and asks GitHub nothing", async ({ sender }) => {
    // No mocks at all: bots never start Drover (intake routes their labels to a sync, and the issue is not
    // one Drover knows), so a permission lookup or a reply would be an unmatched request.
    await harness().receive(
      "issues",
      issueLabeled({ repo: repo(), number: 40, title: "Bot work", sender }),
      `d-bot-${sender.id}`,
    );
    await harness().drain();

    expect((await taskOf(db(), repo(), 40)).task).toBeUndefined();
    expect(await originBranches(sandbox().origin)).toEqual(["main"]);
    expect(await outcomeOf(`d-bot-${sender.id}`)).toBe("dispatched");
  });

  it("answers an invalid drover.yml with one comment naming each key, its value and what is allowed", async () => {
    const sent = recorder();
    const api = github.api();
    mockInstallationToken(github.api().persist(), repo().installationId);
    mockConfig(api, "task_timeout: soon\nagent: gpt\nlable: x\n");
    mockPermission(api, MAINTAINER.login, "write");
    mockReply(api, sent, 3);

    await harness().receive(
      "issues",
      issueLabeled({ repo: repo(), number: 3, title: "Bad config" }),
      "d-bad-config",
    );
    await harness().drain();

    expect(sent.comments).toHaveLength(1);
    const body = sent.comments[0]?.body ?? "";
    expect(body).toContain("`.github/drover.yml` is not valid");
    expect(body).toMatch(/`task_timeout` \(got `"soon"`\): expected a duration such as 90s, 30m or 2h/);
    expect(body).toMatch(/`agent` \(got `"gpt"`\): .*"claude".*"command"/);
    expect(body).toMatch(/`lable` \(got `"x"`\): is not a drover\.yml key/);
    expect((await taskOf(db(), repo(), 3)).task).toBeUndefined();
    expect(await outcomeOf("d-bad-config")).toBe("refused: invalid config");
  });

  it("says a drover.yml that is not YAML is not valid YAML, and starts nothing", async () => {
    const sent = recorder();
    const api = github.api();
    mockInstallationToken(github.api().persist(), repo().installationId);
    mockConfig(api, "label: [drover\nagent: {{\n");
    mockPermission(api, MAINTAINER.login, "admin");
    mockReply(api, sent, 4);

    await harness().receive("issues", issueLabeled({ repo: repo(), number: 4, title: "Broken YAML" }));
    await harness().drain();

    expect(sent.comments).toHaveLength(1);
    expect(sent.comments[0]?.body).toContain("`.github/drover.yml` is not valid");
    expect(sent.comments[0]?.body).toMatch(/`\(file\)`: is not valid YAML/);
    expect((await taskOf(db(), repo(), 4)).task).toBeUndefined();
  });

  it("does nothing at all for a label that is not the configured one", async () => {
    const api = github.api();
    mockInstallationToken(github.api().persist(), repo().installationId);
    mockConfig(api, "label: ai-task\n");

    await harness().receive(
      "issues",
      issueLabeled({ repo: repo(), number: 5, title: "A bug", label: "bug" }),
      "d-bug",
    );
    await harness().drain();

    // Only the config is read: no permission lookup, no comment, no
    // label (the mock helper fails on any).
    expect((await taskOf(db(), repo(), 5)).task).toBeUndefined();
    expect(await outcomeOf("d-bug")).toBe("not the drover label");
    expect(await harness().queue.state("warm", `warm-${repo().id}-start-${repo().id}`)).toBe("unknown");
  });

  it("starts a task on the configured custom label", async () => {
    const sent = recorder();
    const api = github.api();
    const issue = { number: 6, title: "Custom label", labels: ["ai-task"] };
    mockInstallationToken(github.api().persist(), repo().installationId);
    mockConfig(api, agentConfig("exit-code.mjs", { extra: "label: ai-task" }));
    mockPermission(api, MAINTAINER.login, "maintain");
    mockFirstStatus(api, sent, 6, 8006);
    mockRunThatFails(api, { issue });
    const labels = mockIssueState(github.optional(), sent, {
      issue: 6,
      commentId: 8006,
      labels: ["ai-task"],
    });

    await harness().receive(
      "issues",
      issueLabeled({ repo: repo(), number: 6, title: "Custom label", label: "ai-task" }),
    );
    await harness().drain();

    const { task, attempts } = await taskOf(db(), repo(), 6);
    expect(task).toMatchObject({
      branch: "drover/6-custom-label",
      modifiedBy: MAINTAINER.login,
      state: "failed",
    });
    expect(task?.config).toMatchObject({ label: "ai-task" });
    expect(attempts).toHaveLength(1);
    // Announced once its state was known (queued at once: a worker was free; or running already, when the
    // worker took it before the comment was posted), never "ready" first.
    expect(sent.comments[0]).toMatchObject({
      how: "post",
      body: expect.stringMatching(/Queued: waiting for a worker|🔵 Running/),
    });
    expect(sent.comments[0]?.body).toContain("| Started by | @mona |");
    expect(sent.comments.slice(1).map((c) => c.how)).not.toContain("post");
    expect(sent.comments.at(-1)?.body).toContain("❌ Failed");
    expect(addedOnce(sent)).toEqual(["drover:failed"]);
    expect([...labels].sort()).toEqual(["ai-task", "drover:failed"]);
    // The repository's mirror and pool were asked for in the background, once for the repository.
    expect(await harness().queue.state("warm", `warm-${repo().id}-start-${repo().id}`)).toBe("completed");
  });

  it("acts once on a delivery that arrives twice at once and again after it was processed", async () => {
    const sent = recorder();
    const issue = { number: 7, title: "Twice", labels: ["drover"] };
    mockLabelledRun(github, sent, {
      issue,
      commentId: 8007,
      config: agentConfig("exit-code.mjs"),
      installationId: repo().installationId,
    });

    const payload = issueLabeled({ repo: repo(), number: 7, title: "Twice" });
    await Promise.all([
      harness().receive("issues", payload, "d-twice"),
      harness().receive("issues", payload, "d-twice"),
    ]);
    await harness().drain();
    await harness().receive("issues", payload, "d-twice");
    await harness().drain();

    const { task, attempts } = await taskOf(db(), repo(), 7);
    expect(task?.state).toBe("failed");
    expect(attempts).toHaveLength(1);
    expect(await runDirs(sandbox().home, repo(), 7)).toHaveLength(1);
    expect(sent.comments.filter((c) => c.how === "post")).toHaveLength(1);
    expect(await db().select().from(deliveries).where(eq(deliveries.id, "d-twice"))).toHaveLength(1);
  });

  it("a label delivery run again after its task finished does not start the task again", async () => {
    const sent = recorder();
    const issue = { number: 8, title: "Once", labels: ["drover"] };
    const labels = mockLabelledRun(github, sent, {
      issue,
      commentId: 8008,
      config: agentConfig("exit-code.mjs"),
      installationId: repo().installationId,
    });

    await harness().receive("issues", issueLabeled({ repo: repo(), number: 8, title: "Once" }), "d-once");
    await harness().drain();
    const { task: started } = await taskOf(db(), repo(), 8);
    if (!started) throw new Error("the label did not start a task");
    expect(await outcomeOf("d-once")).toBe("created");

    // The run that started it died before marking the delivery processed, and the job comes back after
    // the task's work was finished.
    await db()
      .update(deliveries)
      .set({ processedAt: null, outcome: null })
      .where(eq(deliveries.id, "d-once"));
    await updateTask(db(), started.id, { state: "done", completedBy: MAINTAINER.login, doneAt: new Date() });
    const readyEvents = () =>
      db()
        .select()
        .from(events)
        .where(and(eq(events.taskId, started.id), eq(events.type, "task.ready")));
    expect(await readyEvents()).toHaveLength(1);
    const shown = structuredClone(sent);
    const labelsBefore = [...labels];

    // Every strict mock is used up: a config read, a permission lookup or an issue read by this run would
    // be unmatched and fail the test; its comment and label writes would show in `sent`.
    await startTask(harness().deps, { deliveryId: "d-once" });
    await harness().drain();

    const { task, attempts } = await taskOf(db(), repo(), 8);
    expect(task).toMatchObject({ state: "done", completedBy: MAINTAINER.login });
    expect(attempts).toHaveLength(1);
    expect(await runDirs(sandbox().home, repo(), 8)).toHaveLength(1);
    expect(await readyEvents()).toHaveLength(1);
    expect(sent).toEqual(shown);
    expect([...labels]).toEqual(labelsBefore);
    expect(await outcomeOf("d-once")).toBe("applied before");
    const [delivery] = await db().select().from(deliveries).where(eq(deliveries.id, "d-once"));
    expect(delivery?.processedAt).toBeInstanceOf(Date);
  });

  it("starts one task with one status comment when the label event and reconcile's copy of it run at once", async () => {
    const sent = recorder();
    const api = github.api();
    const optional = github.optional();
    const issue = { number: 9, title: "Both", labels: ["drover"] };
    mockInstallationToken(github.api().persist(), repo().installationId);
    mockFirstStatus(api, sent, 9, 8009);
    mockRunThatFails(api, { issue });
    // Each run reads the config and the labeller's permission; how far the second gets depends on the race.
    mockConfig(optional, agentConfig("exit-code.mjs"));
    mockPermission(optional, MAINTAINER.login, "write");
    mockSync(optional, issue);
    // A second run that also found no status comment would post its own: recorded, so the test can see it.
    optional.get(`${REPO_PATH}/issues/9/comments`).query(true).reply(200, []);
    mockReply(optional, sent, 9, 8010);
    mockIssueState(optional, sent, { issue: 9, commentId: 8009, labels: ["drover"] });
    const payload = issueLabeled({ repo: repo(), number: 9, title: "Both" });
    for (const id of ["d-label", `reconcile-${repo().id}-9-1`]) {
      await recordDelivery(db(), {
        id,
        event: "issues",
        action: "labeled",
        installationId: repo().installationId,
        repoFullName: repo().fullName,
        payload,
      });
    }

    await Promise.all([
      startTask(harness().deps, { deliveryId: "d-label" }),
      startTask(harness().deps, { deliveryId: `reconcile-${repo().id}-9-1` }),
    ]);
    await harness().drain();

    expect(sent.comments.filter((c) => c.how === "post")).toHaveLength(1);
    expect(sent.comments.map((c) => c.id)).not.toContain(8010);
    const { task, attempts } = await taskOf(db(), repo(), 9);
    expect(task).toMatchObject({ state: "failed" });
    expect((await getLastWritten(db(), issueKey(repo().fullName, 9)))?.statusCommentId).toBe(8009);
    expect(attempts).toHaveLength(1);
    const outcomes = [await outcomeOf("d-label"), await outcomeOf(`reconcile-${repo().id}-9-1`)].sort();
    expect(outcomes).toEqual([expect.stringMatching(/^already (ready|queued|running)$/), "created"]);
  });

  it("tries again when GitHub answers with a server error (502, 503), and starts the task", async () => {
    const sent = recorder();
    const api = github.api();
    const issue = { number: 10, title: "Flaky GitHub", labels: ["drover"] };
    mockInstallationToken(github.api().persist(), repo().installationId);
    api
      .get(`${REPO_PATH}/contents/${encodeURIComponent(".github/drover.yml")}`)
      .reply(502, { message: "Server Error" });
    mockConfig(api, agentConfig("exit-code.mjs"));
    api
      .get(`${REPO_PATH}/collaborators/${MAINTAINER.login}/permission`)
      .reply(503, { message: "Service Unavailable" });
    mockPermission(api, MAINTAINER.login, "write");
    mockFirstStatus(api, sent, 10, 8010);
    mockRunThatFails(api, { issue });
    mockIssueState(github.optional(), sent, { issue: 10, commentId: 8010, labels: ["drover"] });

    await harness().receive(
      "issues",
      issueLabeled({ repo: repo(), number: 10, title: "Flaky GitHub" }),
      "d-5xx",
    );
    await harness().drain();

    expect(await outcomeOf("d-5xx")).toBe("created");
    const { task, attempts } = await taskOf(db(), repo(), 10);
    expect(task?.state).toBe("failed");
    expect(attempts).toHaveLength(1);
    expect(sent.comments.filter((c) => c.how === "post")).toHaveLength(1);
    expect(sent.comments[0]?.body).toMatch(/Queued: waiting for a worker|🔵 Running/);
  });
});
