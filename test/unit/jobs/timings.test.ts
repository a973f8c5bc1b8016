import { describe, expect, it } from "vitest";
import { failed } from "../../../jobs/run-task/run.ts";
import { timingsRecorder, waitingOf, withTimings } from "../../../jobs/run-task/timings.ts";

/** A clock the test moves by hand. */
function manualClock() {
  let now = 1_000;
  return { read: () => now, advance: (ms: number) => void (now += ms) };
}

describe("an attempt's timings", () => {
  it("records each phase around its step, and only the phases reached", async () => {
    const clock = manualClock();
    const timings = timingsRecorder(2_000, clock.read);
    await timings.worktree(async () => (clock.advance(400), { path: "/w", setupMs: undefined }));
    const out = await timings.time("agent", async () => (clock.advance(252_000), "ran"));
    expect(out).toBe("ran");
    expect(timings.read()).toEqual({ waitingMs: 2_000, worktreeMs: 400, agentMs: 252_000 });
  });

  it("counts a failed step's time too, and adds up a phase timed twice", async () => {
    const clock = manualClock();
    const timings = timingsRecorder(undefined, clock.read);
    await timings.time("checks", async () => clock.advance(10));
    const failing = timings.time("checks", async () => {
      clock.advance(5);
      throw new Error("check runner broke");
    });
    await expect(failing).rejects.toThrow("check runner broke");
    expect(timings.read()).toEqual({ checksMs: 15 });
  });

  it("counts a workspace's setup as setup, not as worktree time too", async () => {
    const clock = manualClock();
    const timings = timingsRecorder(0, clock.read);
    await timings.worktree(async () => (clock.advance(31_400), { path: "/w", setupMs: 31_000 }));
    expect(timings.read()).toEqual({ waitingMs: 0, worktreeMs: 400, setupMs: 31_000 });
  });

  it("reads waiting from when the attempt was queued to when a worker first took it", () => {
    const createdAt = new Date("2026-01-01T10:00:00.000Z");
    expect(waitingOf({ createdAt, startedAt: new Date("2026-01-01T10:00:02.500Z") })).toBe(2_500);
    expect(waitingOf({ createdAt, startedAt: null })).toBeUndefined();
  });

  it("puts the timings into the outcome, over what a crashed worker's judgement carried", () => {
    const judged = {
      ...failed("agent exited with code 3"),
      fields: { timings: { waitingMs: 5, agentMs: 90 } },
    };
    const outcome = withTimings(judged, { waitingMs: 5, pushMs: 700 });
    expect(outcome.fields.timings).toEqual({ waitingMs: 5, agentMs: 90, pushMs: 700 });
    expect(outcome.judgement).toEqual(judged.judgement);
    expect(withTimings(failed("x"), {})).toEqual(failed("x"));
  });
});
