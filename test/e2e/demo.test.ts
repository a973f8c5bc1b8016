import { randomBytes } from "node:crypto";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { runDemo, type DemoOptions } from "../../src/demo/run-demo.ts";
import { DEMO_ISSUES } from "../../src/demo/scenario.ts";
import { TEST_DATABASE_URL, TEST_REDIS_URL } from "../helpers/services.ts";

/** `drover demo --json`: the README's quick start, run as a user would (in-process, output captured). */
async function demo(overrides: Partial<DemoOptions>) {
  const out = new PassThrough();
  let text = "";
  out.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
  const summary = await runDemo({
    json: true,
    workers: 3,
    timeoutMs: 120_000,
    keep: false,
    databaseUrl: TEST_DATABASE_URL,
    databaseName: `drover_demo_test_${randomBytes(4).toString("hex")}`,
    redisUrl: TEST_REDIS_URL,
    out,
    ...overrides,
  });
  const lines = text
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { summary, tasks: lines.slice(0, -1), last: lines.at(-1) };
}

describe("drover demo", () => {
  it("runs every task of the sample project to a merged pull request", async () => {
    const { summary, tasks, last } = await demo({});
    expect(summary.ok).toBe(true);
    expect(last).toEqual({ summary });
    expect(tasks.map((t) => t.number)).toEqual(DEMO_ISSUES.map((i) => i.number));
    for (const task of tasks) {
      // #6 fails its first try on purpose: the demo shows a retry.
      expect(task).toMatchObject({ state: "done", verdict: "pass", attempts: task.number === 6 ? 2 : 1 });
      expect(task.pr).toEqual(expect.any(Number));
    }
    expect(new Set(tasks.map((t) => t.pr)).size).toBe(tasks.length);
    expect(summary.makespanSeconds).toBeGreaterThan(0);
  }, 150_000);

  it("ends, and says so, when an agent fails and its dependents cannot start", async () => {
    const { summary, tasks } = await demo({
      agentCommand: [process.execPath, "-e", "process.exit(3)"],
      workers: 2,
    });
    expect(summary.ok).toBe(false);
    const state = Object.fromEntries(tasks.map((t) => [t.number, t.state]));
    // The roots fail; everything downstream waits for a person instead of running.
    expect(state).toMatchObject({ 1: "failed", 4: "failed", 2: "waiting", 7: "waiting", 8: "waiting" });
    expect(summary.done).toBe(0);
  }, 150_000);
});
