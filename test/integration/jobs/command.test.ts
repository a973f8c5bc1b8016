import { DroverConfig } from "../../../src/config/schema.ts";
import { and, eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { commandJob } from "../../../jobs/command.ts";
import { readStart } from "../../../src/db/attempt-start.ts";
import { recordDelivery, getDelivery } from "../../../src/db/deliveries.ts";
import { hintsOf } from "../../../src/db/hints.ts";
import { upsertRepository } from "../../../src/db/repositories.ts";
import { commandRuns, deliveries, events, type TaskState } from "../../../src/db/schema.ts";
import { getTask, updateTask } from "../../../src/db/tasks.ts";
import { APPLIES_IN, type CommandName } from "../../../src/graph/commands.ts";
import { TASK_STATES } from "../../../src/graph/model.ts";
import { useDrover } from "../../helpers/drover.ts";
import { mockInstallationToken } from "../../helpers/github.ts";
import { mockPermission } from "../../helpers/github-flows.ts";
import {
  MAINTAINER,
  OCTO_REPO,
  issueCommentCreated,
  reviewCommentCreated,
  reviewSubmitted,
  type TestUser,
} from "../../helpers/payloads.ts";
import { taskTrigger, triggerShownTask } from "../../helpers/tasks.ts";
import { mockConversation, reactionsOf, recordingQueue, type Conversation } from "./command-mocks.ts";

/**
 * The command job against every task state and every permission level: what lands on the issue (reactions,
 * one reply at most, the status), what changes in PostgreSQL, and that a comment delivered again changes
 * and says nothing twice. The job runs directly, its scheduling passes recorded instead of run, so no
 * agent starts.
 */
describe("command", () => {
  const { db, harness, github } = useDrover();
  let nextIssue = 100;

  beforeAll(async () => {
    await upsertRepository(db(), OCTO_REPO);
  });

  /** The job's deps with the queue replaced by a list: what it asked for, and nothing run. */
  const jobDeps = () => recordingQueue(harness().deps);

  /** A task for a new issue in `state` (`none`: the issue is not a task), its status comment 9000 + n. */
  async function issueIn(state: TaskState | "none"): Promise<{ issue: number; taskId: number | null }> {
    const issue = nextIssue++;
    if (state === "none") return { issue, taskId: null };
    const trigger = await triggerShownTask(db(), { ...taskTrigger(issue), statusCommentId: 9000 + issue });
    if (trigger.kind !== "created") throw new Error("task not created");
    await updateTask(db(), trigger.task.id, {
      state,
      attemptCount: state === "ready" || state === "waiting" ? 0 : 1,
      ...(state === "review" ? { prNumber: issue + 1000 } : {}),
    });
    return { issue, taskId: trigger.task.id };
  }

  async function deliver(id: string, event: string, payload: Record<string, unknown>): Promise<string> {
    await recordDelivery(db(), {
      id,
      event,
      action: String(payload.action),
      installationId: OCTO_REPO.installationId,
      repoFullName: OCTO_REPO.fullName,
      payload,
    });
    return id;
  }

  /** `body` commented on `issue` by `author` (with `permission`), run through the job once. */
  async function commentOn(
    issue: number,
    body: string,
    options: {
      author?: TestUser;
      permission?: string;
      roleName?: string;
      labels?: string[];
      issueState?: "open" | "closed";
      /** The conversation of an earlier comment on the same issue, going on. */
      talk?: Conversation;
    } = {},
  ): Promise<{ talk: Conversation; enqueued: string[]; deliveryId: string }> {
    const author = options.author ?? MAINTAINER;
    mockInstallationToken(github.optional(), OCTO_REPO.installationId);
    mockPermission(github.api(), author.login, options.permission ?? "write", options.roleName);
    const talk =
      options.talk ??
      mockConversation(github, {
        issue,
        statusCommentId: 9000 + issue,
        ...(options.labels ? { labels: options.labels } : {}),
      });
    const deliveryId = await deliver(
      `d-comment-${issue}-${Math.random().toString(36).slice(2)}`,
      "issue_comment",
      issueCommentCreated({
        number: issue,
        body,
        commentId: 50_000 + issue,
        author,
        ...(options.issueState ? { state: options.issueState } : {}),
      }),
    );
    const { deps, enqueued } = jobDeps();
    await commandJob(deps, { deliveryId });
    return { talk, enqueued, deliveryId };
  }

  const stateOf = async (taskId: number | null) =>
    taskId === null ? "none" : (await getTask(db(), taskId))?.state;

  /** What each command is written as, and the state it leaves a task in when it applies. */
  const STEERING: Record<
    "retry" | "hint" | "cancel" | "pause" | "resume" | "resolve" | "status",
    { body: string; to: (from: TaskState) => TaskState }
  > = {
    retry: { body: "/drover retry", to: () => "ready" },
    hint: { body: "/drover hint read CONTRIBUTING.md first", to: (from) => from },
    cancel: { body: "/drover cancel not needed any more", to: () => "cancelled" },
    pause: { body: "/drover pause", to: () => "paused" },
    resume: { body: "/drover resume", to: () => "ready" },
    resolve: { body: "/drover resolve fixed by hand in #12", to: () => "done" },
    status: { body: "/drover status", to: (from) => from },
  };

  describe("in every task state", () => {
    const cases = Object.keys(STEERING).flatMap((name) =>
      [...TASK_STATES, "none" as const].map((state) => ({ name: name as keyof typeof STEERING, state })),
    );

    it.each(cases)("/drover $name on a task that is $state", async ({ name, state }) => {
      const { issue, taskId } = await issueIn(state);
      const { talk, enqueued } = await commentOn(issue, STEERING[name].body);

      const applies = APPLIES_IN[name].includes(state);
      if (!applies || state === "none") {
        expect(reactionsOf(talk)).toEqual(["eyes"]);
        expect(talk.replies).toHaveLength(1);
        const reply = talk.replies[0]?.body ?? "";
        expect(reply).toContain(`\`/drover ${name}\` did nothing`);
        expect(reply).toContain(state === "none" ? "not a Drover task" : `the task is \`${state}\``);
        expect(reply).toContain("It applies when the task is");
        expect(await stateOf(taskId)).toBe(state);
        expect(talk.status.comments).toEqual([]);
        expect(enqueued).toEqual([]);
        return;
      }
      expect(reactionsOf(talk)).toEqual(["eyes", "rocket"]);
      expect(talk.replies.length).toBeLessThanOrEqual(1);
      expect(await stateOf(taskId)).toBe(STEERING[name].to(state));
      // The task is shown as it is now, and a scheduling pass is asked for.
      expect(talk.status.comments.at(-1)?.body).toContain(`\`${STEERING[name].to(state)}\``);
      expect(enqueued).toContain("schedule");
    });
  });

  describe("by permission level", () => {
    const commands: { name: CommandName; body: string; state: TaskState | "none" }[] = [
      { name: "run", body: "/drover run", state: "failed" },
      { name: "retry", body: "/drover retry", state: "failed" },
      { name: "hint", body: "/drover hint try the other API", state: "running" },
      { name: "cancel", body: "/drover cancel", state: "running" },
      { name: "pause", body: "/drover pause", state: "queued" },
      { name: "resume", body: "/drover resume", state: "paused" },
      { name: "resolve", body: "/drover resolve", state: "blocked" },
      { name: "priority", body: "/drover priority high", state: "ready" },
      { name: "status", body: "/drover status", state: "review" },
      { name: "help", body: "/drover help", state: "ready" },
    ];
    const refusedLevels = [
      { level: "triage", permission: "read", roleName: "triage" },
      { level: "read", permission: "read", roleName: "read" },
      { level: "none", permission: "none", roleName: "none" },
    ];

    it.each(commands.flatMap((c) => refusedLevels.map((l) => ({ ...c, ...l }))))(
      "a person with $level access gets one reply to /drover $name, and nothing changes",
      async ({ body, state, permission, roleName, level }) => {
        const outsider: TestUser = { login: `outsider-${level}`, id: 5150 };
        const { issue, taskId } = await issueIn(state);
        const { talk, enqueued } = await commentOn(issue, body, { author: outsider, permission, roleName });

        expect(reactionsOf(talk)).toEqual(["eyes"]);
        expect(talk.replies).toHaveLength(1);
        expect(talk.replies[0]?.body).toContain(`@outsider-${level} has \`${roleName}\` access`);
        expect(talk.replies[0]?.body).toContain("Only people with write, maintain or admin access");
        expect(await stateOf(taskId)).toBe(state);
        expect(talk.status).toEqual({ comments: [], added: [], removed: [] });
        expect(enqueued).toEqual([]);
        if (taskId !== null) expect(await hintsOf(db(), taskId)).toEqual([]);
      },
    );

    const allowed = [
      { level: "admin", permission: "admin", roleName: "admin" },
      { level: "maintain", permission: "write", roleName: "maintain" },
      { level: "write", permission: "write", roleName: "write" },
    ];
    const steering = commands.filter((c) => !["run", "priority"].includes(c.name));

    it.each(steering.flatMap((c) => allowed.map((l) => ({ ...c, ...l }))))(
      "a person with $level access has /drover $name applied",
      async ({ name, body, state, permission, roleName, level }) => {
        const person: TestUser = { login: `person-${level}`, id: 6160 };
        const { issue, taskId } = await issueIn(state);
        const { talk } = await commentOn(issue, body, { author: person, permission, roleName });

        expect(reactionsOf(talk)).toEqual(name === "help" ? ["eyes"] : ["eyes", "rocket"]);
        expect(talk.replies.length).toBeLessThanOrEqual(1);
        expect(talk.replies.map((r) => r.body).join()).not.toContain("did nothing");
        if (name in STEERING)
          expect(await stateOf(taskId)).toBe(STEERING[name as keyof typeof STEERING].to(state as TaskState));
        const task = taskId === null ? undefined : await getTask(db(), taskId);
        if (!["help", "status"].includes(name)) expect(task?.modifiedBy).toBe(person.login);
      },
    );
  });

  it("records a hint with its author and source, says when it applies, and shows it", async () => {
    const { issue, taskId } = await issueIn("running");
    const { talk } = await commentOn(issue, "/drover hint The fixtures live in test/data.\nUse them.");

    const [hint] = await hintsOf(db(), taskId!);
    expect(hint).toMatchObject({
      kind: "hint",
      author: MAINTAINER.login,
      authorId: MAINTAINER.id,
      body: "The fixtures live in test/data.\nUse them.",
      sourceId: `comment:${50_000 + issue}`,
      url: `https://github.com/${OCTO_REPO.fullName}/issues/${issue}#issuecomment-${50_000 + issue}`,
    });
    expect(talk.replies).toHaveLength(1);
    // The task's agent (Claude Code, the default) reads input while it works: it gets the hint now.
    expect(talk.replies[0]?.body).toContain(
      "Hint recorded: the running agent reads input while it works, so it is given the hint within seconds",
    );
    expect(talk.replies[0]?.body).toContain("the next attempt follows it too");
    expect(await stateOf(taskId)).toBe("running");
    // Shown: the status comment is refreshed (it lists the task's hints).
    expect(talk.status.comments).toHaveLength(1);
  });

  it("says a hint to a running agent that reads no input applies to the next attempt, and how to restart", async () => {
    const { issue, taskId } = await issueIn("running");
    const config = DroverConfig.parse({ agent: "command", agent_command: ["node", "agent.mjs"] });
    await updateTask(db(), taskId!, { config });
    const { talk } = await commentOn(issue, "/drover hint Use the fixtures.");
    expect(talk.replies[0]?.body).toContain(
      "Hint recorded: the next attempt follows it; the running one goes on without it",
    );
    expect(talk.replies[0]?.body).toContain("--restart");
  });

  it("says a hint to a task not started yet applies to its first attempt", async () => {
    const { issue } = await issueIn("ready");
    const { talk } = await commentOn(issue, "/drover hint keep it small");
    expect(talk.replies[0]?.body).toContain("Hint recorded: the first attempt follows it.");
  });

  it("restarts a running task on /drover hint --restart: ready again, from its branch", async () => {
    const { issue, taskId } = await issueIn("running");
    const { talk } = await commentOn(issue, "/drover hint --restart stop, use the v2 endpoint");

    const task = await getTask(db(), taskId!);
    expect(task).toMatchObject({ state: "ready", modifiedBy: MAINTAINER.login });
    expect(readStart(task?.nextStart)).toEqual({ from: "branch", cause: "restart", by: MAINTAINER.login });
    expect((await hintsOf(db(), taskId!)).map((h) => h.body)).toEqual(["stop, use the v2 endpoint"]);
    expect(reactionsOf(talk)).toEqual(["eyes", "rocket"]);
    expect(talk.replies[0]?.body).toContain("The running attempt stops");
  });

  it("retries from the task branch, or from the base branch with --fresh", async () => {
    const onBranch = await issueIn("review");
    await commentOn(onBranch.issue, "/drover retry");
    expect(readStart((await getTask(db(), onBranch.taskId!))?.nextStart)).toEqual({
      from: "branch",
      cause: "retry",
      by: MAINTAINER.login,
    });
    const fresh = await issueIn("failed");
    await commentOn(fresh.issue, "/drover retry --fresh");
    expect(readStart((await getTask(db(), fresh.taskId!))?.nextStart)).toEqual({
      from: "base",
      cause: "retry",
      by: MAINTAINER.login,
    });
  });

  it("cancels with the reason and the drover:cancelled label (a running task has no state label)", async () => {
    const { issue, taskId } = await issueIn("running");
    const { talk } = await commentOn(issue, "/drover cancel wrong approach", { labels: ["drover"] });

    expect(await getTask(db(), taskId!)).toMatchObject({
      state: "cancelled",
      stateReason: "cancelled by @mona: wrong approach",
      modifiedBy: MAINTAINER.login,
    });
    expect([...talk.labels].sort()).toEqual(["drover", "drover:cancelled"]);
    expect(talk.replies[0]?.body).toContain("The running agent is stopped within seconds");
    const [event] = await db()
      .select()
      .from(events)
      .where(and(eq(events.taskId, taskId!), eq(events.type, "task.cancelled")));
    expect(event).toMatchObject({ actor: MAINTAINER.login });
  });

  it("pauses with drover:paused, and resumes from the branch with the hint recorded", async () => {
    const { issue, taskId } = await issueIn("running");
    const paused = await commentOn(issue, "/drover pause", { labels: ["drover"] });
    expect(await getTask(db(), taskId!)).toMatchObject({ state: "paused", stateReason: "paused by @mona" });
    expect([...paused.talk.labels].sort()).toEqual(["drover", "drover:paused"]);

    const resumed = await commentOn(issue, "/drover resume the tests need a database", { talk: paused.talk });
    const task = await getTask(db(), taskId!);
    expect(task).toMatchObject({ state: "ready", stateReason: "resumed by @mona" });
    expect(readStart(task?.nextStart)).toEqual({ from: "branch", cause: "resume", by: MAINTAINER.login });
    expect((await hintsOf(db(), taskId!)).map((h) => h.body)).toEqual(["the tests need a database"]);
    expect([...resumed.talk.labels]).toEqual(["drover"]);
  });

  it("resolves a failed task: done, completed by the commenter, the note kept, a pass asked for", async () => {
    const { issue, taskId } = await issueIn("failed");
    const { talk, enqueued } = await commentOn(issue, "/drover resolve done by hand in #7", {
      labels: ["drover", "drover:failed"],
    });
    expect(await getTask(db(), taskId!)).toMatchObject({
      state: "done",
      completedBy: MAINTAINER.login,
      resolution: "done by hand in #7",
      stateReason: "resolved by @mona",
    });
    expect(talk.replies[0]?.body).toContain("the tasks waiting on this one are released");
    expect(enqueued).toContain("schedule");
    expect([...talk.labels]).toEqual(["drover"]);
  });

  it("starts nothing again on a closed issue: retry and resume say to reopen it first", async () => {
    const { issue, taskId } = await issueIn("cancelled");
    const { talk } = await commentOn(issue, "/drover retry\n/drover hint --restart go", {
      issueState: "closed",
    });
    expect(await stateOf(taskId)).toBe("cancelled");
    expect(reactionsOf(talk)).toEqual(["eyes"]);
    expect(talk.replies).toHaveLength(1);
    expect(talk.replies[0]?.body).toContain(
      "`/drover retry` did nothing: the issue is closed. Reopen it first.",
    );
    expect(talk.replies[0]?.body).toContain("`/drover hint --restart go` did nothing: the issue is closed.");
  });

  it("links the status comment on /drover status", async () => {
    const { issue } = await issueIn("review");
    const { talk } = await commentOn(issue, "/drover status");
    expect(talk.status.comments).toHaveLength(1);
    expect(talk.replies[0]?.body).toContain(
      `https://github.com/${OCTO_REPO.fullName}/issues/${issue}#issuecomment-${9000 + issue}`,
    );
  });

  it("answers an unknown command with the help, marking what applies in the task's state", async () => {
    const { issue, taskId } = await issueIn("failed");
    const { talk } = await commentOn(issue, "/drover frobnicate");
    expect(reactionsOf(talk)).toEqual(["eyes"]);
    expect(talk.replies).toHaveLength(1);
    const reply = talk.replies[0]?.body ?? "";
    expect(reply).toContain("`frobnicate` is not a Drover command");
    expect(reply).toContain("**Drover commands**");
    expect(reply).toContain("| ✅ | `/drover retry [--fresh]` |");
    expect(reply).toContain("|  | `/drover resume [hint]` |");
    expect(await stateOf(taskId)).toBe("failed");
  });

  it("applies several commands in order and answers them in one reply", async () => {
    const { issue, taskId } = await issueIn("failed");
    const { talk } = await commentOn(
      issue,
      "/drover hint the bug is in the parser\n/drover pause\n/drover retry --fresh\n/drover nonsense",
    );
    // hint applies; pause does not (failed); retry does; nonsense gets the help.
    expect(await stateOf(taskId)).toBe("ready");
    expect(reactionsOf(talk)).toEqual(["eyes", "rocket"]);
    expect(talk.replies).toHaveLength(1);
    const reply = talk.replies[0]?.body ?? "";
    expect(reply).toContain("Hint recorded");
    expect(reply).toContain("`/drover pause` did nothing: the task is `failed`");
    expect(reply).toContain("`nonsense` is not a Drover command");
    expect(reply).toContain("**Drover commands**");
  });

  it("applies a redelivered comment once and answers it once", async () => {
    const { issue, taskId } = await issueIn("failed");
    const { talk, deliveryId } = await commentOn(issue, "/drover hint use tabs\n/drover retry");
    expect(await stateOf(taskId)).toBe("ready");
    // The job runs again for the same delivery (the queue retried it, or the watchdog requeued it).
    const again = jobDeps();
    await commandJob(again.deps, { deliveryId });
    expect(again.enqueued).toEqual([]);
    expect(reactionsOf(talk)).toEqual(["eyes", "rocket"]);
    expect(talk.replies).toHaveLength(1);
    expect(await hintsOf(db(), taskId!)).toHaveLength(1);
    const history = await db().select().from(events).where(eq(events.taskId, taskId!));
    expect(history.filter((e) => e.type === "task.ready")).toHaveLength(1); // created
    expect(history.filter((e) => e.type === "task.retried")).toMatchObject([{ actor: MAINTAINER.login }]);
    expect((await getDelivery(db(), deliveryId))?.outcome).toBe("2 of 2 applied");
  });

  it("answers a job that applied its commands but stopped before answering, applying nothing again", async () => {
    const { issue, taskId } = await issueIn("blocked");
    const { talk, deliveryId } = await commentOn(issue, "/drover retry");
    // As if the first run stopped after applying (its answer lost): run it again.
    await db().update(commandRuns).set({ answeredAt: null }).where(eq(commandRuns.deliveryId, deliveryId));
    await db().update(deliveries).set({ processedAt: null }).where(eq(deliveries.id, deliveryId));
    await updateTask(db(), taskId!, { state: "running" });
    mockPermission(github.api(), MAINTAINER.login, "write");
    await commandJob(jobDeps().deps, { deliveryId });
    // Not applied again (the task is where the run left it), answered again with what the first run did.
    expect(await stateOf(taskId)).toBe("running");
    expect(reactionsOf(talk)).toEqual(["eyes", "rocket", "rocket"]);
    const history = await db().select().from(events).where(eq(events.taskId, taskId!));
    expect(history.filter((e) => e.type === "task.retried")).toHaveLength(1);
  });

  /**
   * A task in review and its pull request (the issue's number + 1000), with GitHub's side of a comment
   * there mocked; `payload` is the delivery, given the PR's number and head branch.
   */
  async function onPullRequest(
    event: string,
    payload: (pr: { pr: number; headRef: string }) => Record<string, unknown>,
  ): Promise<{ issue: number; taskId: number; talk: Conversation }> {
    const { issue, taskId } = await issueIn("review");
    const task = await getTask(db(), taskId!);
    mockInstallationToken(github.optional(), OCTO_REPO.installationId);
    mockPermission(github.api(), MAINTAINER.login, "write");
    const talk = mockConversation(github, { issue, statusCommentId: 9000 + issue, replyOn: issue + 1000 });
    const deliveryId = await deliver(
      `d-${event}-${issue}`,
      event,
      payload({ pr: issue + 1000, headRef: task!.branch }),
    );
    await commandJob(jobDeps().deps, { deliveryId });
    return { issue, taskId: taskId!, talk };
  }

  it("runs commands in a review comment on the task's pull request, reacting on that comment", async () => {
    const { issue, taskId, talk } = await onPullRequest("pull_request_review_comment", (pr) =>
      reviewCommentCreated({
        ...pr,
        body: "/drover hint rename this\n/drover pause",
        commentId: 70_000 + pr.pr,
      }),
    );

    expect(talk.reactions).toEqual([
      { on: `review-comment:${71_000 + issue}`, content: "eyes" },
      { on: `review-comment:${71_000 + issue}`, content: "rocket" },
    ]);
    expect((await hintsOf(db(), taskId))[0]).toMatchObject({ sourceId: `review-comment:${71_000 + issue}` });
    // Pause does not apply in review: one reply on the pull request says so.
    expect(talk.replies).toHaveLength(1);
    expect(talk.replies[0]).toMatchObject({ issue: issue + 1000 });
    expect(talk.replies[0]?.body).toContain("`/drover pause` did nothing: the task is `review`");
  });

  it("answers a review's body by a reply, as it takes no reaction", async () => {
    const { taskId, talk } = await onPullRequest("pull_request_review", (pr) =>
      reviewSubmitted({ ...pr, body: "Almost.\n/drover cancel not this way", reviewId: 60_000 + pr.pr }),
    );

    expect(talk.reactions).toEqual([]);
    expect(await stateOf(taskId)).toBe("cancelled");
    expect(talk.replies).toHaveLength(1);
    expect(talk.replies[0]?.body).toContain("`/drover cancel not this way`: done.");
  });

  it("runs nothing for a quoted command or an edited comment", async () => {
    const { issue, taskId } = await issueIn("running");
    // Intake drops both; no job runs, nothing is asked of GitHub.
    await harness().receive(
      "issue_comment",
      issueCommentCreated({ number: issue, commentId: 1, body: "> /drover cancel\n\nPlease don't." }),
    );
    await harness().receive("issue_comment", {
      ...issueCommentCreated({ number: issue, commentId: 2, body: "/drover cancel" }),
      action: "edited",
    });
    await harness().drain();
    expect(await stateOf(taskId)).toBe("running");
    // And the job itself, given a quoted command, finds none.
    const deliveryId = await deliver(
      `d-quoted-${issue}`,
      "issue_comment",
      issueCommentCreated({ number: issue, commentId: 3, body: "> /drover cancel" }),
    );
    await commandJob(jobDeps().deps, { deliveryId });
    expect((await getDelivery(db(), deliveryId))?.outcome).toBe("no command");
    expect(await stateOf(taskId)).toBe("running");
  });
});
