import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AttemptOutcome } from "../../../src/db/attempt-record.ts";
import { concludeAttempt } from "../../../src/db/attempts.ts";
import { EventFeed } from "../../../src/db/event-feed.ts";
import { readEvents, recordEvent, type DroverEvent } from "../../../src/db/events.ts";
import { upsertIssue } from "../../../src/db/graph-rows.ts";
import { recordHints } from "../../../src/db/hints.ts";
import { upsertRepository } from "../../../src/db/repositories.ts";
import { transitionTask } from "../../../src/db/tasks.ts";
import { useTestDatabase } from "../../helpers/db.ts";
import { MAINTAINER, OCTO_REPO } from "../../helpers/payloads.ts";
import { claimedTask, triggerShownTask, taskTrigger } from "../../helpers/tasks.ts";

const testDb = useTestDatabase();
const db = () => testDb.database().db;

const OUTCOME: AttemptOutcome = { conclusion: "success", reason: "the agent reported success" };

let issue = 100;

/** Waits until `check` holds (events reach a feed through a notification, after commit). */
async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function eventsOfIssue(number: number): Promise<DroverEvent[]> {
  return (await readEvents(db(), {}, 0, 10_000)).filter((event) => event.issue === number);
}

describe("events", () => {
  let feed: EventFeed;
  beforeAll(async () => {
    await upsertRepository(db(), OCTO_REPO);
    feed = new EventFeed(db(), testDb.database().sql);
    await feed.start();
  });
  afterAll(async () => {
    await feed.close();
  });

  it("tells a task's life from label to merge: what, who, where, which story and attempt", async () => {
    const number = ++issue;
    await upsertIssue(db(), {
      key: `octo-org/widgets#${number}`,
      installationId: OCTO_REPO.installationId,
      repoFullName: OCTO_REPO.fullName,
      number,
      title: "Part of a story",
      parentKey: "octo-org/widgets#7",
      linksSyncedAt: new Date(),
    });
    const { taskId, lease } = await claimedTask(db(), number, "worker-1");
    await concludeAttempt(db(), lease, OUTCOME, {
      from: ["running"],
      to: "review",
      fields: { stateReason: "the agent reported success", prNumber: 900 },
      cause: {},
    });
    await transitionTask(
      db(),
      taskId,
      ["review"],
      "done",
      { completedBy: "closer", stateReason: "pull request #900 merged" },
      { by: "closer", also: "pr.merged", data: { pr: 900 } },
    );

    const told = await eventsOfIssue(number);
    expect(told.map((event) => [event.type, event.actor])).toEqual([
      ["task.ready", MAINTAINER.login],
      ["task.queued", null],
      ["task.started", MAINTAINER.login],
      ["task.review", null],
      ["pr.opened", null],
      ["task.completed", "closer"],
      ["pr.merged", "closer"],
    ]);
    for (const event of told)
      expect(event).toMatchObject({ repo: "octo-org/widgets", issue: number, story: "octo-org/widgets#7" });
    expect(told.find((event) => event.type === "task.review")).toMatchObject({
      attempt: 1,
      data: { from: "running", to: "review", reason: "the agent reported success", pr: 900 },
    });
    // In commit order, each with its own place.
    const seqs = told.map((event) => event.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
  });

  it("records a hint as an event by its author, and nothing from a transaction rolled back", async () => {
    const number = ++issue;
    const trigger = await triggerShownTask(db(), taskTrigger(number));
    if (trigger.kind === "applied-before") throw new Error("not triggered");
    await recordHints(db(), [
      { taskId: trigger.task.id, kind: "hint", author: "octocat", body: "use the cache" },
    ]);
    await db()
      .transaction(async (tx) => {
        await recordEvent(tx, { taskId: trigger.task.id, type: "pr.closed" });
        throw new Error("rolled back");
      })
      .catch(() => {});
    const told = await eventsOfIssue(number);
    expect(told.map((event) => [event.type, event.actor])).toEqual([
      ["task.ready", MAINTAINER.login],
      ["task.hinted", "octocat"],
    ]);
    expect(told[1]?.data).toMatchObject({ kind: "hint" });
  });

  it("orders events by commit, so a reader resuming after one never misses an earlier-made one", async () => {
    const number = ++issue;
    const trigger = await triggerShownTask(db(), taskTrigger(number));
    if (trigger.kind === "applied-before") throw new Error("not triggered");
    const taskId = trigger.task.id;
    let letSlowCommit!: () => void;
    const slowMayCommit = new Promise<void>((resolve) => (letSlowCommit = resolve));
    let slowWrote!: () => void;
    const slowHasWritten = new Promise<void>((resolve) => (slowWrote = resolve));
    // The slow transaction writes its event first (a lower id) and commits last.
    const slow = db().transaction(async (tx) => {
      await recordEvent(tx, { taskId, type: "pr.closed", data: { which: "slow" } });
      slowWrote();
      await slowMayCommit;
    });
    await slowHasWritten;
    await recordEvent(db(), { taskId, type: "pr.approved", data: { which: "fast" } });
    const seen = (await eventsOfIssue(number)).filter((event) => event.type !== "task.ready");
    expect(seen.map((event) => event.data.which)).toEqual(["fast"]);
    const cursor = seen[0]?.seq ?? 0;
    letSlowCommit();
    await slow;
    // Resuming after the fast one's seq still gives the slow one.
    const resumed = await readEvents(db(), { repos: [OCTO_REPO.fullName] }, cursor);
    expect(resumed.map((event) => event.data.which)).toEqual(["slow"]);
  });

  it("gives a subscriber the history after its cursor, then live events, once each and in order", async () => {
    const number = ++issue;
    const trigger = await triggerShownTask(db(), taskTrigger(number));
    if (trigger.kind === "applied-before") throw new Error("not triggered");
    const taskId = trigger.task.id;
    for (const n of [1, 2, 3]) await recordEvent(db(), { taskId, type: "pr.approved", data: { n } });
    const history = (await eventsOfIssue(number)).filter((event) => event.type === "pr.approved");
    const cursor = history[0]?.seq ?? 0;

    const got: DroverEvent[] = [];
    const failedOnly: DroverEvent[] = [];
    const stop = feed.subscribe({ types: ["pr"], repos: [OCTO_REPO.fullName] }, cursor, (e) => got.push(e));
    const stopFailed = feed.subscribe({ types: ["task.failed"] }, null, (e) => failedOnly.push(e));
    // Live events committed while the history is being read, and after.
    const live = [4, 5, 6].map((n) => recordEvent(db(), { taskId, type: "pr.approved", data: { n } }));
    await Promise.all(live);
    await recordEvent(db(), { taskId, type: "pr.closed", data: { n: 7 } });
    await until(() => got.some((event) => event.data.n === 7));
    stop();
    stopFailed();
    const ns = got.filter((event) => event.issue === number).map((event) => event.data.n);
    expect(ns.slice(0, 2)).toEqual([2, 3]);
    expect([...ns].sort()).toEqual([2, 3, 4, 5, 6, 7]);
    expect(new Set(got.map((event) => event.seq)).size).toBe(got.length);
    expect(got.map((event) => event.seq)).toEqual(got.map((event) => event.seq).sort((a, b) => a - b));
    expect(failedOnly).toEqual([]);
  });
});
