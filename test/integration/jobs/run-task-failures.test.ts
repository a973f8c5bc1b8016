import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { DroverConfig } from "../../../src/config/schema.ts";
import type { Db } from "../../../src/db/client.ts";
import { upsertRepository } from "../../../src/db/repositories.ts";
import { attempts, tasks } from "../../../src/db/schema.ts";
import { queueTasks } from "../../../src/db/tasks.ts";
import { triggerShownTask } from "../../helpers/tasks.ts";
import { useDrover } from "../../helpers/drover.ts";
import { mockInstallationToken } from "../../helpers/github.ts";
import { isRunning } from "../../helpers/processes.ts";
import {
  addedOnce,
  agentConfig,
  mockIssueState,
  mockLabelledRun,
  originBranches,
  recorder,
  runDirs,
  taskOf,
  type Sent,
} from "../../helpers/github-flows.ts";
import { MAINTAINER, issueLabeled, type TestRepo } from "../../helpers/payloads.ts";

/**
 * Agent runs that must not become pull requests: a non-zero exit, a timeout, a run that changed nothing.
 * Each is labelled `drover:failed` with the reason on the status comment, and nothing reaches origin.
 */
describe("run-task when the agent fails", () => {
  const { db, harness, sandbox, repo, github } = useDrover();

  /**
   * Labels issue `issue` with a config running `yaml`'s agent; the run is expected to fail. Returns what
   * was sent, and the labels the issue ended up with.
   */
  async function runFailing(
    issue: number,
    title: string,
    yaml: string,
  ): Promise<Sent & { labels: Set<string> }> {
    const sent = recorder();
    const labels = mockLabelledRun(github, sent, {
      issue: { number: issue, title, labels: ["drover"] },
      commentId: 9000 + issue,
      config: yaml,
      installationId: repo().installationId,
    });
    await harness().receive("issues", issueLabeled({ repo: repo(), number: issue, title }));
    await harness().drain();
    return { ...sent, labels };
  }

  async function expectFailedWithoutPullRequest(
    sent: Sent & { labels: Set<string> },
    issue: number,
  ): Promise<string> {
    const { task, attempts } = await taskOf(db(), repo(), issue);
    expect(task?.state).toBe("failed");
    expect(task?.prNumber).toBeNull();
    expect(attempts).toMatchObject([{ state: "finished", conclusion: "failure", headSha: null }]);
    // No pull request was asked for (an unmocked POST /pulls would fail the test), and origin has no branch.
    expect(await originBranches(sandbox().origin)).toEqual(["main"]);
    // No state label while it ran (the status comment said so), failed at the end; the trigger label stays.
    expect(sent.comments.some((c) => c.body.includes("🔵 Running"))).toBe(true);
    expect(addedOnce(sent)).toEqual(["drover:failed"]);
    expect(sent.removed).toEqual([]);
    expect([...sent.labels].sort()).toEqual(["drover", "drover:failed"]);
    // One status comment, made when the task started and edited since: running, then failed. It says
    // queued when made, unless a worker took the task before it was posted.
    expect(sent.comments.filter((c) => c.how === "post")).toHaveLength(1);
    expect(sent.comments[0]?.body).toMatch(/Queued: waiting for a worker|🔵 Running/);
    expect(sent.comments.some((c) => c.body.includes("🔵 Running"))).toBe(true);
    const final = sent.comments.at(-1);
    expect(final?.how).toBe("patch");
    expect(final?.body).toContain("❌ Failed");
    return final?.body ?? "";
  }

  it("fails an agent that exits non-zero, with the code and the log tail", async () => {
    const sent = await runFailing(11, "Exit three", agentConfig("exit-code.mjs", { args: ["3"] }));

    const status = await expectFailedWithoutPullRequest(sent, 11);
    expect(status).toContain("**Why:** agent exited with code 3");
    expect(status).toMatch(/<summary>Log tail<\/summary>[\s\S]*something went badly wrong/);
  });

  it("stops an agent at task_timeout, killing its whole process tree", async () => {
    const started = Date.now();
    const sent = await runFailing(12, "Hangs forever", agentConfig("hang.mjs", { timeout: "2s" }));
    expect(Date.now() - started).toBeLessThan(10_000);

    const status = await expectFailedWithoutPullRequest(sent, 12);
    expect(status).toContain("**Why:** agent timed out after 2s");
    // The hanging agent's own child is gone too.
    const grandchild = Number(/grandchild-pid=(\d+)/.exec(status)?.[1]);
    expect(grandchild).toBeGreaterThan(0);
    await expect.poll(() => isRunning(grandchild), { timeout: 1_000 }).toBe(false);
  });

  it("fails an agent that says it passed but changed nothing", async () => {
    const sent = await runFailing(13, "Do nothing", agentConfig("pass-without-changes.mjs"));

    const status = await expectFailedWithoutPullRequest(sent, 13);
    expect(status).toContain("**Why:** the agent changed nothing");
    expect(status).toContain("Nothing needed changing");
  });
});

describe("run-task when its workers keep dying", () => {
  const { db, harness, sandbox, repo, github } = useDrover();

  it("fails an attempt whose worker stopped five times, saying so, without running the agent or retrying", async () => {
    const sent = recorder();
    mockInstallationToken(github.api().persist(), repo().installationId);
    const labels = mockIssueState(github.optional(), sent, {
      issue: 21,
      commentId: 9021,
      labels: ["drover"],
    });
    const config = DroverConfig.parse(parse(agentConfig("exit-code.mjs", { attempts: 3 })));
    const { taskId, attemptId } = await queuedTask(db(), repo(), {
      issueNumber: 21,
      title: "Kills its worker",
      branch: "drover/21-kills-its-worker",
      config,
      statusCommentId: 9021,
    });
    // Five workers took the attempt up in turn and died with it: four leases were lost before, and the
    // fifth (epoch 5) lapsed in its dead holder's hands.
    await db()
      .update(attempts)
      .set({
        state: "running",
        leaseEpoch: 5,
        lostLeases: 4,
        leaseOwner: "dead-worker",
        leaseExpiresAt: new Date(0),
      })
      .where(eq(attempts.id, attemptId));
    await db().update(tasks).set({ state: "running" }).where(eq(tasks.id, taskId));

    await harness().enqueue("run-task", { attemptId });
    await harness().drain();

    const { task, attempts: tried } = await taskOf(db(), repo(), 21);
    expect(task).toMatchObject({ state: "failed", attemptCount: 1, nextAttemptAt: null });
    expect(task?.stateReason).toContain(
      "the worker running this attempt stopped 5 times without handing it back",
    );
    expect(task?.stateReason).not.toContain("no tries left");
    expect(tried).toMatchObject([{ state: "finished", conclusion: "failure", headSha: null }]);
    expect(await runDirs(sandbox().home, repo(), 21)).toEqual([]);
    expect(await originBranches(sandbox().origin)).toEqual(["main"]);
    const final = sent.comments.at(-1)?.body ?? "";
    expect(final).toContain("❌ Failed");
    expect(final).toContain("(a crash, a kill or a freeze each time)");
    expect(final).toContain("remove and add the label to try again");
    expect([...labels].sort()).toEqual(["drover", "drover:failed"]);
  });
});

describe("run-task when the config its task recorded cannot be read", () => {
  const { db, harness, sandbox, repo } = useDrover();

  it("fails the attempt for good, naming the task, without running the agent", async () => {
    const { taskId, attemptId } = await queuedTask(db(), repo(), {
      issueNumber: 22,
      title: "Recorded long ago",
      branch: "drover/22-recorded-long-ago",
      // Not a config any version of Drover stored.
      config: { agent: "claude", max_attempts: "three" },
    });

    await harness().enqueue("run-task", { attemptId: attemptId });
    // publish cannot read the config either: it fails for good at once, with the same words.
    await expect.poll(() => harness().queue.failures(), { timeout: 10_000 }).toHaveLength(1);

    const unreadable = `the drover.yml recorded with task ${taskId} cannot be read`;
    const { task, attempts: tried } = await taskOf(db(), repo(), 22);
    expect(task).toMatchObject({ state: "failed", nextAttemptAt: null });
    expect(task?.stateReason).toContain(`Drover could not run the task: ${unreadable}`);
    expect(task?.stateReason).toContain("max_attempts");
    expect(tried).toMatchObject([{ state: "finished", conclusion: "failure" }]);
    expect(await runDirs(sandbox().home, repo(), 22)).toEqual([]);
    const [publish] = await harness().queue.failures();
    expect(publish).toMatchObject({ name: "publish", id: `publish-${attemptId}` });
    expect(publish?.reason).toContain(unreadable);
    await harness().queue.remove("main", `publish-${attemptId}`);
  });
});

/** A task the maintainer triggered, its first attempt queued (as the scheduler leaves it), with no job yet. */
async function queuedTask(
  db: Db,
  repo: TestRepo,
  input: { issueNumber: number; title: string; branch: string; config: unknown; statusCommentId?: number },
): Promise<{ taskId: number; attemptId: number }> {
  await upsertRepository(db, repo);
  const trigger = await triggerShownTask(db, {
    repoId: repo.id,
    createdBy: MAINTAINER.login,
    createdById: MAINTAINER.id,
    triggeredBy: MAINTAINER.login,
    ...input,
  });
  if (trigger.kind !== "created") throw new Error(`task not created: ${trigger.kind}`);
  const [queued] = await queueTasks(db, [trigger.task.id]);
  if (!queued) throw new Error("attempt not queued");
  return { taskId: trigger.task.id, attemptId: queued.attemptId };
}
