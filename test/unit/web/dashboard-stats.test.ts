import { describe, expect, it } from "vitest";
import type { AttemptStatRow, RepoTaskRow } from "../../../src/db/dashboard.ts";
import type { NotifyProblem } from "../../../src/db/notify.ts";
import {
  completionHistogram,
  costs,
  errorSignature,
  failureClusters,
  notifyClusters,
  repoQueues,
  successByAgent,
  successByStory,
  utilisation,
  utilisationWindow,
} from "../../../src/web/dashboard/stats.ts";

const T0 = new Date("2026-12-06T10:00:00Z");
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

function task(number: number, fields: Partial<RepoTaskRow> = {}): RepoTaskRow {
  return {
    repo: "acme/notes",
    number,
    title: `Task ${number}`,
    state: "waiting",
    createdAt: at(0),
    updatedAt: at(0),
    doneAt: null,
    story: null,
    ...fields,
  };
}

function attempt(number: number, fields: Partial<AttemptStatRow> = {}): AttemptStatRow {
  return {
    repo: "acme/notes",
    number,
    agent: "claude",
    state: "finished",
    conclusion: "success",
    reason: null,
    checks: null,
    startedAt: at(0),
    finishedAt: at(1),
    costUsd: null,
    inputTokens: null,
    outputTokens: null,
    ...fields,
  };
}

describe("repository queues", () => {
  it("counts tasks by state, lists what runs, and names the task waiting longest", () => {
    const [queue, other] = repoQueues([
      task(1, { state: "running" }),
      task(2, { state: "ready", updatedAt: at(5) }),
      task(3, { state: "waiting", updatedAt: at(2) }),
      task(4, { state: "done" }),
      task(1, { repo: "acme/other", state: "done" }),
    ]);
    expect(queue).toMatchObject({
      repo: "acme/notes",
      running: [1],
      oldestWaiting: { number: 3, since: at(2) },
    });
    expect(queue!.counts).toMatchObject({ running: 1, ready: 1, waiting: 1, done: 1, failed: 0 });
    expect(other).toMatchObject({ repo: "acme/other", running: [], oldestWaiting: null });
  });
});

describe("success rates", () => {
  it("by story counts finished tasks only, tasks outside a story together", () => {
    const rates = successByStory([
      task(1, { state: "done", story: "acme/notes#8" }),
      task(2, { state: "failed", story: "acme/notes#8" }),
      task(3, { state: "running", story: "acme/notes#8" }),
      task(4, { state: "done" }),
    ]);
    expect(rates).toEqual([
      { name: "acme/notes#8", succeeded: 1, total: 2 },
      { name: "no story", succeeded: 1, total: 1 },
    ]);
  });

  it("by agent counts finished attempts that concluded success", () => {
    const rates = successByAgent([
      attempt(1),
      attempt(2, { conclusion: "failure" }),
      attempt(3, { agent: "codex" }),
      attempt(4, { state: "running", conclusion: null }),
    ]);
    expect(rates).toEqual([
      { name: "claude", succeeded: 1, total: 2 },
      { name: "codex", succeeded: 1, total: 1 },
    ]);
  });
});

describe("time to completion", () => {
  it("puts each done task in the bucket of its labelled-to-done time", () => {
    const buckets = completionHistogram([
      task(1, { state: "done", doneAt: at(0.5) }),
      task(2, { state: "done", doneAt: at(3) }),
      task(3, { state: "done", doneAt: at(3) }),
      task(4, { state: "done", doneAt: at(60 * 30) }),
      task(5, { state: "failed", doneAt: null }),
    ]);
    expect(Object.fromEntries(buckets.map((b) => [b.label, b.count]))).toEqual({
      "< 1 min": 1,
      "1–5 min": 2,
      "5–15 min": 0,
      "15–60 min": 0,
      "1–4 h": 0,
      "4–24 h": 0,
      "> 1 day": 1,
    });
  });
});

describe("worker utilisation", () => {
  it("gives each slice the most attempts running at once, a running one counting to now", () => {
    const now = at(60);
    const rows = [
      attempt(1, { startedAt: at(0), finishedAt: at(10) }),
      attempt(2, { startedAt: at(5), finishedAt: at(25) }),
      attempt(3, { startedAt: at(50), finishedAt: null, state: "running" }),
    ];
    const chart = utilisation(rows, now, 60 * 60_000, 6);
    expect(chart.from).toEqual(at(0));
    // 0–10: two at once; 10–20 and 20–30: one; 30–50: none; 50–60: the running one.
    expect(chart.busy).toEqual([2, 1, 1, 0, 0, 1]);
  });

  it("spans the recent work in whole 10 minutes, at least 10 and at most 6 hours", () => {
    const now = at(60);
    expect(utilisationWindow([attempt(1, { startedAt: at(55) })], now)).toBe(10 * 60_000);
    expect(utilisationWindow([attempt(1, { startedAt: at(25) })], now)).toBe(40 * 60_000);
    expect(utilisationWindow([], now)).toBe(6 * 3_600_000);
  });
});

describe("cost", () => {
  it("sums what agents reported per task and per repository, leaving out attempts that reported nothing", () => {
    const result = costs([
      attempt(1, { costUsd: "0.50", inputTokens: 1000, outputTokens: 200 }),
      attempt(1, { costUsd: "0.25" }),
      attempt(2, { inputTokens: 10, outputTokens: 5 }),
      attempt(3),
    ]);
    expect(result.tasks).toEqual([
      { name: "acme/notes#1", usd: 0.75, tokens: 1200, attempts: 2 },
      { name: "acme/notes#2", usd: 0, tokens: 15, attempts: 1 },
    ]);
    expect(result.repos).toEqual([{ name: "acme/notes", usd: 0.75, tokens: 1215, attempts: 3 }]);
  });
});

describe("failures by error signature", () => {
  it("replaces what differs between runs of one failure: numbers, shas, paths and quoted values", () => {
    expect(errorSignature("agent exited with code 3")).toBe("agent exited with code <n>");
    expect(errorSignature('could not push 1a2b3c4d5e to "drover/12-fix" after 3 tries')).toBe(
      'could not push <sha> to "…" after <n> tries',
    );
    expect(errorSignature("ENOENT: no such file /tmp/run-1234/src/a.ts\nstack...")).toBe(
      "ENOENT: no such file <path>",
    );
  });

  it("groups failed attempts by signature and failing check, most frequent first", () => {
    const failedCheck = [
      { command: "npm run lint", outcome: "passed" },
      { command: "npm test", outcome: "failed" },
    ];
    const clusters = failureClusters([
      attempt(1, { conclusion: "failure", reason: "agent exited with code 1" }),
      attempt(2, { conclusion: "failure", reason: "agent exited with code 137" }),
      attempt(2, { conclusion: "failure", reason: "agent exited with code 2" }),
      attempt(3, { conclusion: "failure", reason: "checks failed", checks: failedCheck }),
      attempt(4),
    ]);
    expect(clusters).toEqual([
      {
        signature: "agent exited with code <n>",
        check: null,
        count: 3,
        tasks: ["acme/notes#1", "acme/notes#2"],
      },
      { signature: "checks failed", check: "npm test", count: 1, tasks: ["acme/notes#3"] },
    ]);
  });
});

describe("outgoing webhook problems", () => {
  it("group deliveries by target, state and what went wrong, with the newest one's event", () => {
    const problem = (id: number, fields: Partial<NotifyProblem>): NotifyProblem => ({
      id,
      target: "hooks.slack.com/services",
      format: "slack",
      eventType: "task.failed",
      eventSeq: id,
      repo: "acme/notes",
      issue: id,
      state: "failed",
      tries: 8,
      lastStatus: 500,
      lastError: null,
      updatedAt: at(id),
      ...fields,
    });
    const clusters = notifyClusters([
      problem(1, {}),
      problem(2, {}),
      problem(3, {
        state: "retrying",
        tries: 2,
        lastStatus: null,
        lastError: "connect ECONNREFUSED 10.0.0.1:443",
      }),
    ]);
    expect(clusters).toEqual([
      {
        target: "hooks.slack.com/services",
        state: "failed",
        problem: "HTTP 500",
        count: 2,
        latest: { eventType: "task.failed", repo: "acme/notes", issue: 2, at: at(2) },
      },
      {
        target: "hooks.slack.com/services",
        state: "retrying",
        problem: "connect ECONNREFUSED <n>.<n>:<n>",
        count: 1,
        latest: { eventType: "task.failed", repo: "acme/notes", issue: 3, at: at(3) },
      },
    ]);
  });
});
