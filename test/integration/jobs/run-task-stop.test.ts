import { readFile } from "node:fs/promises";
import path from "node:path";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { readStart, type AttemptStart } from "../../../src/db/attempt-start.ts";
import { getStep, hasStep, PUBLISHED } from "../../../src/db/attempts.ts";
import { events, tasks, type TaskState } from "../../../src/db/schema.ts";
import { transitionTask } from "../../../src/db/tasks.ts";
import { SpawnedAgent } from "../../../src/agent/orphans.ts";
import { useDrover } from "../../helpers/drover.ts";
import { queuedTask } from "../../helpers/tasks.ts";
import { git } from "../../helpers/git-sandbox.ts";
import { mockInstallationToken } from "../../helpers/github.ts";
import {
  agentConfig,
  mockDiscussion,
  mockIdentity,
  mockIssue,
  mockIssueState,
  recorder,
  taskOf,
} from "../../helpers/github-flows.ts";
import { isRunning } from "../../helpers/processes.ts";

/**
 * A person stops a task while its agent runs (cancel, pause, `/drover hint --restart`, closing the
 * issue: each moves the task's state in PostgreSQL). The agent's whole process group is gone within
 * 5 s, what it did so far is pushed to the task branch, and the attempt ends as stopped, saying who
 * stopped it and where its work is, leaving the task where the person put it.
 */
describe("run-task when a person stops the task", () => {
  const { db, harness, sandbox, repo, github } = useDrover();

  /** GitHub for run-task and publish (the issue, its discussion, the bot, the status and labels). */
  function mockGitHub(issue: number, commentId: number) {
    const sent = recorder();
    mockInstallationToken(github.api().persist(), repo().installationId);
    const optional = github.optional();
    mockIssue(optional, { number: issue, title: `Task ${issue}`, labels: ["drover"] });
    mockDiscussion(optional, issue);
    mockIdentity(optional);
    const labels = mockIssueState(optional, sent, { issue, commentId, labels: ["drover"] });
    return { sent, labels };
  }

  /**
   * Starts issue `issue`'s task with the edit-then-hang agent (unless `polite`, both it and its
   * grandchild ignore SIGTERM: the worst case), and waits until the agent has made its edit. Returns
   * the pids.
   */
  async function startHanging(issue: number, polite = false) {
    const ready = path.join(sandbox().root, `ready-${issue}`);
    const yaml = agentConfig("edit-then-hang.mjs", { args: polite ? [ready] : [ready, "--ignore-term"] });
    const { taskId, attemptId } = await queuedTask(db(), repo(), issue, yaml);
    await harness().enqueue("run-task", { attemptId });
    // Both pids written (the file may be seen before its content), and the agent's spawn recorded.
    const written = () => readFile(ready, "utf8").catch(() => "");
    await expect.poll(written, { timeout: 15_000 }).toMatch(/^\d+ \d+\n$/);
    const [agent, grandchild] = (await written()).trim().split(" ").map(Number);
    const spawned = () => getStep(db(), attemptId, "agent-process-e1", SpawnedAgent);
    await expect.poll(async () => (await spawned())?.pid).toBe(agent);
    return { taskId, attemptId, pids: [agent ?? 0, grandchild ?? 0] };
  }

  /** Moves the task as a person's command would, and how long its agent's processes took to go. */
  async function stopAndTime(
    taskId: number,
    pids: number[],
    to: TaskState,
    fields: Partial<typeof tasks.$inferInsert>,
  ): Promise<number> {
    const moved = await transitionTask(db(), taskId, ["running"], to, fields);
    expect(moved?.state).toBe(to);
    const at = Date.now();
    await expect
      .poll(async () => (await Promise.all(pids.map(isRunning))).some(Boolean), {
        timeout: 5_000,
        interval: 25,
      })
      .toBe(false);
    const took = Date.now() - at;
    console.info(`stop latency (${to}): ${took} ms from the state change to the process group gone`);
    return took;
  }

  async function branchFile(branch: string, file: string): Promise<string> {
    return git(sandbox().origin, "show", `${branch}:${file}`);
  }

  it("stops a cancelled task's agent within 5 s, pushes its partial work, and concludes it as stopped", async () => {
    const { sent, labels } = mockGitHub(41, 9041);
    const { taskId, attemptId, pids } = await startHanging(41);

    const took = await stopAndTime(taskId, pids, "cancelled", {
      modifiedBy: "alice",
      stateReason: "cancelled by @alice: not needed after all",
    });
    expect(took).toBeLessThan(5_000);
    await harness().drain();

    const { task, attempts } = await taskOf(db(), repo(), 41);
    expect(task).toMatchObject({
      state: "cancelled",
      stateReason: "cancelled by @alice: not needed after all",
    });
    const head = await git(sandbox().origin, "rev-parse", task?.branch ?? "");
    expect(attempts).toMatchObject([
      {
        state: "finished",
        conclusion: "neutral",
        agentOutcome: "cancelled",
        headSha: null,
        reason:
          "stopped (cancelled by @alice: not needed after all); its work so far is on " +
          `\`${task?.branch}\` at ${head.slice(0, 12)}`,
      },
    ]);
    expect(attempts[0]?.diffStat).toContain("PARTIAL.md");
    expect(await branchFile(task?.branch ?? "", "PARTIAL.md")).toBe("half done");
    // Its parent is main: a first attempt starts from the base branch.
    expect(await git(sandbox().origin, "rev-parse", `${head}^`)).toBe(
      await git(sandbox().origin, "rev-parse", "main"),
    );
    // publish ran for it: the status comment shows the task cancelled.
    expect(await hasStep(db(), attemptId, PUBLISHED)).toBe(true);
    expect(sent.comments.at(-1)?.body).toContain("⚪ Cancelled");
    expect([...labels]).toEqual(["drover", "drover:cancelled"]);
    const stopped = await db().select().from(events).where(eq(events.type, "attempt.stopped"));
    expect(stopped).toHaveLength(1);
  });

  it("stops a paused task's agent the same way, keeping its work and the task paused", async () => {
    mockGitHub(42, 9042);
    // An agent that ends on SIGTERM, as agents' CLIs do: gone about as soon as the stop is seen.
    const { taskId, attemptId, pids } = await startHanging(42, true);

    expect(
      await stopAndTime(taskId, pids, "paused", { modifiedBy: "bob", stateReason: "paused by @bob" }),
    ).toBeLessThan(5_000);
    await harness().drain();

    const { task, attempts } = await taskOf(db(), repo(), 42);
    expect(task?.state).toBe("paused");
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ state: "finished", conclusion: "neutral" });
    expect(attempts[0]?.reason).toMatch(
      /^stopped \(paused by @bob\); its work so far is on `drover\/42-task-42` at [0-9a-f]{12}$/,
    );
    expect(await branchFile("drover/42-task-42", "PARTIAL.md")).toBe("half done");
    expect(await hasStep(db(), attemptId, PUBLISHED)).toBe(true);
  });

  it("restarts a task: the next attempt waits for the stopped one, then starts from its work on the branch", async () => {
    mockGitHub(43, 9043);
    const { taskId, pids } = await startHanging(43);
    const start: AttemptStart = { from: "branch", cause: "restart", by: "carol" };

    expect(
      await stopAndTime(taskId, pids, "ready", {
        modifiedBy: "carol",
        stateReason: "restarted by @carol with a hint",
        nextStart: start,
      }),
    ).toBeLessThan(5_000);
    // The first attempt is stopping, so no second attempt may be queued yet, however often it is asked.
    await harness().enqueue("schedule", {});
    await harness().drain(30_000);

    const { task, attempts } = await taskOf(db(), repo(), 43);
    const [first, second] = [...attempts].sort((a, b) => a.number - b.number);
    expect(first).toMatchObject({ number: 1, state: "finished", conclusion: "neutral" });
    expect(first?.reason).toMatch(/^stopped \(ready: restarted by @carol with a hint\); its work so far/);
    // The second came after the first finished, from the branch, and found the first one's work there.
    expect(second).toMatchObject({ number: 2, state: "finished", conclusion: "failure" });
    expect(readStart(second?.start)).toEqual(start);
    expect(second?.createdAt.getTime()).toBeGreaterThanOrEqual(first?.finishedAt?.getTime() ?? Infinity);
    expect(second?.logTail).toContain("found PARTIAL.md: half done");
    expect(task).toMatchObject({ state: "failed", attemptCount: 2 });
    // It changed nothing, so the branch still holds the first attempt's work.
    expect(await branchFile("drover/43-task-43", "PARTIAL.md")).toBe("half done");
  });

  it("stops the agent of a task whose issue was closed, crediting who closed it", async () => {
    mockGitHub(45, 9045);
    const { taskId, pids } = await startHanging(45, true);

    const took = await stopAndTime(taskId, pids, "done", {
      completedBy: "erin",
      doneAt: new Date(),
      stateReason: "issue closed as completed",
    });
    expect(took).toBeLessThan(5_000);
    await harness().drain();

    const { task, attempts } = await taskOf(db(), repo(), 45);
    expect(task?.state).toBe("done");
    expect(attempts[0]?.reason).toMatch(
      /^stopped by @erin \(done: issue closed as completed\); its work so far is on `drover\/45-task-45` at/,
    );
  });
});
