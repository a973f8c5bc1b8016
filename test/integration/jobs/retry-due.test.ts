import { eq } from "drizzle-orm";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { retryDue } from "../../../jobs/schedule.ts";
import { concludeAttempt } from "../../../src/db/attempts.ts";
import { upsertRepository } from "../../../src/db/repositories.ts";
import { tasks } from "../../../src/db/schema.ts";
import type { Enqueue } from "../../../src/queue/job-catalog.ts";
import { useDrover } from "../../helpers/drover.ts";
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
import { claimedTask, queuedTask } from "../../helpers/tasks.ts";

/**
 * A failed attempt's retry starts when the status comment says: conclude queues a `retry-due` job delayed
 * until `next_attempt_at`, which moves the task back to ready and asks for a scheduling pass. These
 * harnesses run no watchdog, so nothing else would start the retry.
 */
describe("retries at the time the status comment says", () => {
  const { db, harness, repo, github } = useDrover();

  /** GitHub for `issue`'s attempts (any number of them), each failing. */
  function mockFailingRuns(issue: number) {
    const sent = recorder();
    mockInstallationToken(github.api().persist(), repo().installationId);
    const optional = github.optional();
    mockIssue(optional, { number: issue, title: `Task ${issue}` });
    mockDiscussion(optional, issue);
    mockIdentity(optional);
    mockIssueState(optional, sent, { issue, commentId: 9000 + issue, labels: ["drover"] });
    return sent;
  }

  it("queues the retry's job for next_attempt_at, under an id of its own per task and time", async () => {
    mockFailingRuns(61);
    const yaml = agentConfig("exit-code.mjs", { args: ["3"], attempts: 2, extra: "retry_delay: 1h" });
    const { taskId, attemptId } = await queuedTask(db(), repo(), 61, yaml);

    await harness().enqueue("run-task", { attemptId });
    await harness().drain();

    const { task } = await taskOf(db(), repo(), 61);
    expect(task?.state).toBe("retrying");
    const at = task!.nextAttemptAt!.getTime();
    const jobs = (await harness().delayed()).filter((job) => job.name === "retry-due");
    expect(jobs).toHaveLength(1);
    const [job] = jobs;
    expect(job).toMatchObject({ id: `retry-due-${taskId}-${at}`, data: { taskId, at } });
    // Due when the comment says (the queue's own clock read a moment after conclude's), not at once, and
    // within the hour retry_delay allows a first retry (half of it fixed, half jitter).
    expect(job!.dueAt).toBeGreaterThanOrEqual(at);
    expect(job!.dueAt - at).toBeLessThan(1_000);
    expect(job!.dueAt - job!.queuedAt).toBeGreaterThan(29 * 60_000);
    expect(job!.dueAt - job!.queuedAt).toBeLessThanOrEqual(60 * 60_000);
  });

  it("starts the next attempt once it is due, with no scheduling pass but its own", async () => {
    const sent = mockFailingRuns(62);
    const yaml = agentConfig("exit-code.mjs", { args: ["3"], attempts: 2, extra: "retry_delay: 1s" });
    const { attemptId } = await queuedTask(db(), repo(), 62, yaml);

    await harness().enqueue("run-task", { attemptId });
    // drain() waits for the delayed retry too (it is due within its time), and for the attempt it starts.
    await harness().drain();

    const { task, attempts: tried } = await taskOf(db(), repo(), 62);
    expect(task).toMatchObject({ state: "failed", attemptCount: 2, nextAttemptAt: null });
    expect(tried.map((attempt) => attempt.conclusion)).toEqual(["failure", "failure"]);
    const bodies = sent.comments.map((comment) => comment.body);
    expect(bodies.some((body) => /Next try \| .*\(attempt 2\)/.test(body))).toBe(true);
    expect(bodies.at(-1)).toContain("| Attempt | 2 of 2 |");
  });

  it("releases exactly the task whose retry is due, and not one whose retry was put later", async () => {
    await upsertRepository(db(), repo());
    const now = Date.now();
    const retrying = async (issue: number, nextAttemptAt: Date) => {
      const { taskId, lease } = await claimedTask(db(), issue, "earlier-worker");
      const move = {
        from: ["running"] as const,
        to: "retrying" as const,
        fields: { stateReason: "agent exited with code 3", nextAttemptAt },
        cause: {},
      };
      await concludeAttempt(db(), lease, { conclusion: "failure" }, { ...move, from: [...move.from] });
      return taskId;
    };
    const due = await retrying(63, new Date(now - 1_000));
    const alsoDue = await retrying(64, new Date(now - 1_000));
    const later = await retrying(65, new Date(now + 60 * 60_000));
    const asked: string[] = [];
    const enqueue: Enqueue = async (name) => void asked.push(name);
    const deps = { ...harness().deps, enqueue, log: pino({ level: "silent" }) };

    await retryDue(deps, { taskId: due, at: now - 1_000 });
    // A job queued for an earlier time than the task's retry now (it failed again since): left alone.
    await retryDue(deps, { taskId: later, at: now - 1_000 });

    const stateOf = async (id: number) => (await db().select().from(tasks).where(eq(tasks.id, id)))[0];
    expect(await stateOf(due)).toMatchObject({ state: "ready", nextAttemptAt: null, stateReason: null });
    expect(await stateOf(alsoDue)).toMatchObject({ state: "retrying" });
    expect(await stateOf(later)).toMatchObject({ state: "retrying" });
    expect(asked).toEqual(["schedule"]);

    // Run again (a job delivered twice), it finds nothing to release and asks for nothing.
    await retryDue(deps, { taskId: due, at: now - 1_000 });
    expect(asked).toEqual(["schedule"]);
  });
});
