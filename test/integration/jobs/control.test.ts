import { and, eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { controlJob } from "../../../jobs/control.ts";
import { commandRunsOf } from "../../../src/db/commands.ts";
import { hintsOf } from "../../../src/db/hints.ts";
import { upsertRepository } from "../../../src/db/repositories.ts";
import { events, type TaskState } from "../../../src/db/schema.ts";
import { getTask, updateTask } from "../../../src/db/tasks.ts";
import type { JobPayload } from "../../../src/queue/job-catalog.ts";
import { useDrover } from "../../helpers/drover.ts";
import { mockInstallationToken } from "../../helpers/github.ts";
import { mockPermission } from "../../helpers/github-flows.ts";
import { MAINTAINER, OCTO_REPO } from "../../helpers/payloads.ts";
import { taskTrigger, triggerShownTask } from "../../helpers/tasks.ts";
import { mockConversation, reactionsOf, recordingQueue } from "./command-mocks.ts";

/**
 * A dashboard control's job: the same command a comment would carry, by the person who used the control,
 * authorised again with GitHub, applied once per control id, shown on the issue's status comment, with
 * nothing said on GitHub beyond it.
 */
describe("control", () => {
  const { db, harness, github } = useDrover();
  let nextIssue = 300;

  beforeAll(async () => {
    await upsertRepository(db(), OCTO_REPO);
  });

  async function taskIn(state: TaskState): Promise<{ issue: number; taskId: number }> {
    const issue = nextIssue++;
    const trigger = await triggerShownTask(db(), { ...taskTrigger(issue), statusCommentId: 9000 + issue });
    if (trigger.kind !== "created") throw new Error("task not created");
    await updateTask(db(), trigger.task.id, { state });
    return { issue, taskId: trigger.task.id };
  }

  const control = (issue: number, command: string, login = MAINTAINER.login): JobPayload<"control"> => ({
    controlId: `dashboard-${Math.random().toString(36).slice(2, 14)}`,
    repoFullName: OCTO_REPO.fullName,
    number: issue,
    command,
    author: { login, id: 101 },
    via: "person",
  });

  it("applies a writer's pause as /drover pause, attributed to them, and shows it on the issue", async () => {
    const { issue, taskId } = await taskIn("waiting");
    mockInstallationToken(github.optional(), OCTO_REPO.installationId);
    mockPermission(github.api(), MAINTAINER.login, "write");
    const talk = mockConversation(github, { issue, statusCommentId: 9000 + issue });
    const payload = control(issue, "/drover pause");
    const { deps, enqueued } = recordingQueue(harness().deps);
    await controlJob(deps, payload);

    expect(await getTask(db(), taskId)).toMatchObject({ state: "paused", modifiedBy: MAINTAINER.login });
    const [paused] = await db()
      .select()
      .from(events)
      .where(and(eq(events.taskId, taskId), eq(events.type, "task.paused")));
    expect(paused?.actor).toBe(MAINTAINER.login);
    expect((await commandRunsOf(db(), payload.controlId)).get(0)?.outcome).toMatchObject({ applied: true });
    expect(talk.status.comments.length).toBeGreaterThan(0);
    expect(talk.replies).toEqual([]);
    expect(reactionsOf(talk)).toEqual([]);
    expect(enqueued).toContain("schedule");

    // The same control again (the queue delivered it twice): nothing more, and no request to GitHub.
    const again = recordingQueue(harness().deps);
    await controlJob(again.deps, payload);
    expect(again.enqueued).toEqual([]);
  });

  it("gives a writer's hint to the agent as /drover hint does, with who gave it", async () => {
    const { issue, taskId } = await taskIn("running");
    mockInstallationToken(github.optional(), OCTO_REPO.installationId);
    mockPermission(github.api(), MAINTAINER.login, "admin");
    mockConversation(github, { issue, statusCommentId: 9000 + issue });
    await controlJob(
      recordingQueue(harness().deps).deps,
      control(issue, "/drover hint use the cache\nnot the disk"),
    );
    const [hint] = await hintsOf(db(), taskId);
    expect(hint).toMatchObject({
      kind: "hint",
      author: MAINTAINER.login,
      body: "use the cache\nnot the disk",
    });
    expect(hint?.sourceId).toMatch(/^dashboard:\d+$/);
  });

  it("refuses someone GitHub no longer lets write, saying why, and changes nothing", async () => {
    const { issue, taskId } = await taskIn("waiting");
    mockInstallationToken(github.optional(), OCTO_REPO.installationId);
    mockPermission(github.api(), "rea", "read");
    const payload = control(issue, "/drover pause", "rea");
    const { deps, enqueued } = recordingQueue(harness().deps);
    await controlJob(deps, payload);
    expect((await getTask(db(), taskId))?.state).toBe("waiting");
    expect((await commandRunsOf(db(), payload.controlId)).get(0)?.outcome).toMatchObject({
      applied: false,
      say: expect.stringContaining('"read"'),
    });
    expect(enqueued).toEqual([]);
  });

  it("says why a control the task's state does not take was not applied", async () => {
    const { issue, taskId } = await taskIn("done");
    mockInstallationToken(github.optional(), OCTO_REPO.installationId);
    mockPermission(github.api(), MAINTAINER.login, "write");
    mockConversation(github, { issue, statusCommentId: 9000 + issue });
    const payload = control(issue, "/drover pause");
    await controlJob(recordingQueue(harness().deps).deps, payload);
    expect((await getTask(db(), taskId))?.state).toBe("done");
    expect((await commandRunsOf(db(), payload.controlId)).get(0)?.outcome).toMatchObject({
      applied: false,
      say: expect.stringContaining("done"),
    });
  });
});
