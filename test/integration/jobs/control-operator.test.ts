import { and, eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { controlJob } from "../../../jobs/control.ts";
import { commandRunsOf } from "../../../src/db/commands.ts";
import { upsertRepository } from "../../../src/db/repositories.ts";
import { events } from "../../../src/db/schema.ts";
import { findTask, getTask, tasksInState, updateTask } from "../../../src/db/tasks.ts";
import { retryControl } from "../../../src/main/commands/retry.ts";
import type { JobPayload } from "../../../src/queue/job-catalog.ts";
import { useDrover } from "../../helpers/drover.ts";
import { mockInstallationToken } from "../../helpers/github.ts";
import { TEST_APP, TEST_BOT, appReply, labelsReply } from "../../helpers/github-replies.ts";
import { REPO_PATH, mockConfig, mockSync, recorder } from "../../helpers/github-flows.ts";
import { AUTHOR, OCTO_REPO } from "../../helpers/payloads.ts";
import { taskTrigger, triggerShownTask } from "../../helpers/tasks.ts";
import { mockConversation, recordingQueue } from "./command-mocks.ts";

/**
 * An operator's control (the `drover` command line: `retry --failed`, `import-jsonl`): not asked about on
 * GitHub (no permission read), credited to the App's bot, applied once per control id; and `/drover run`
 * for an issue that is no task yet, which is how an import starts what it created.
 */
describe("control from the operator's command line", () => {
  const { db, harness, github } = useDrover();

  beforeAll(async () => {
    await upsertRepository(db(), OCTO_REPO);
  });

  /** The App, read for its bot's login (once per process: optional). */
  function mockApp(): void {
    github.optional().get("/app").reply(200, appReply(TEST_APP));
  }

  it("retries a failed task as the App's bot, without asking GitHub who may, once per failure", async () => {
    const issue = 410;
    const trigger = await triggerShownTask(db(), { ...taskTrigger(issue), statusCommentId: 9410 });
    if (trigger.kind !== "created") throw new Error("task not created");
    await updateTask(db(), trigger.task.id, {
      state: "failed",
      stateReason: "attempts used up",
      attemptCount: 3,
    });
    const [failed] = await tasksInState(db(), OCTO_REPO.fullName, "failed");
    expect(failed).toMatchObject({ number: issue, attempts: 3, reason: "attempts used up" });
    if (!failed) throw new Error("not listed");

    mockInstallationToken(github.optional(), OCTO_REPO.installationId);
    mockApp();
    // No permission mock: a request for one would fail the test.
    const talk = mockConversation(github, { issue, statusCommentId: 9410 });
    const payload = retryControl(OCTO_REPO.fullName, failed, "ops");
    const { deps, enqueued } = recordingQueue(harness().deps);
    await controlJob(deps, payload);

    expect(await getTask(db(), trigger.task.id)).toMatchObject({
      state: "ready",
      modifiedBy: TEST_BOT.login,
      stateReason: `retried by @${TEST_BOT.login}`,
    });
    const [retried] = await db()
      .select()
      .from(events)
      .where(and(eq(events.taskId, trigger.task.id), eq(events.type, "task.retried")));
    expect(retried?.actor).toBe(TEST_BOT.login);
    expect((await commandRunsOf(db(), payload.controlId)).get(0)?.outcome).toMatchObject({ applied: true });
    expect(talk.status.comments.length).toBeGreaterThan(0);
    expect(talk.replies).toEqual([]);
    expect(enqueued).toContain("schedule");

    // The command run again before the task failed again: the same control, which does nothing.
    const again = recordingQueue(harness().deps);
    await controlJob(again.deps, retryControl(OCTO_REPO.fullName, failed, "ops"));
    expect(again.enqueued).toEqual([]);
    expect((await getTask(db(), trigger.task.id))?.state).toBe("ready");
  });

  it("starts an issue that is no task yet with /drover run, credited to the App's bot", async () => {
    const issue = 420;
    const api = github.api();
    const sent = recorder();
    mockInstallationToken(github.optional(), OCTO_REPO.installationId);
    mockApp();
    // Read twice: for the control (its title, author, state), then by the sync the run starts.
    mockSync(api, { number: issue, title: "Imported task" }, 2);
    mockConfig(api, "label: drover\n");
    api.post(`${REPO_PATH}/issues/${issue}/labels`).reply(200, (_uri, body) => {
      const labels = (body as { labels: string[] }).labels;
      sent.added.push(labels);
      return labelsReply(labels);
    });
    const payload: JobPayload<"control"> = {
      controlId: `operator-import-${issue}-abcdef`,
      repoFullName: OCTO_REPO.fullName,
      number: issue,
      command: "/drover run",
      author: { login: "ops", id: 0 },
      via: "operator",
    };
    const { deps, enqueued } = recordingQueue(harness().deps);
    await controlJob(deps, payload);

    expect(await findTask(db(), OCTO_REPO.id, issue)).toMatchObject({
      state: "ready",
      title: "Imported task",
      createdBy: AUTHOR.login,
      modifiedBy: TEST_BOT.login,
      stateReason: `started by @${TEST_BOT.login}`,
    });
    expect(sent.added).toEqual([["drover"]]);
    expect((await commandRunsOf(db(), payload.controlId)).get(0)?.outcome).toMatchObject({ applied: true });
    expect(enqueued).toContain("schedule");

    // Queued twice (an import run again): applied once, nothing more asked of GitHub.
    const again = recordingQueue(harness().deps);
    await controlJob(again.deps, payload);
    expect(again.enqueued).toEqual([]);
  });

  it("still refuses any other control on an issue that is no task", async () => {
    const payload: JobPayload<"control"> = {
      controlId: "operator-retry-none-430",
      repoFullName: OCTO_REPO.fullName,
      number: 430,
      command: "/drover retry",
      author: { login: "ops", id: 0 },
      via: "operator",
    };
    await expect(controlJob(recordingQueue(harness().deps).deps, payload)).rejects.toThrow(
      `${OCTO_REPO.fullName}#430 is no Drover task`,
    );
  });
});
