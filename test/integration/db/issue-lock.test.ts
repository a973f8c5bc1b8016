import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { openDatabase, type Db } from "../../../src/db/client.ts";
import { IssueBusyError, withIssueLock } from "../../../src/db/issue-lock.ts";
import { useTestDatabase } from "../../helpers/db.ts";

/** What one piece of locked work saw: when it ran, by the clock. */
type Span = { start: number; end: number };

async function timed(ms: number): Promise<Span> {
  const start = performance.now();
  await sleep(ms);
  return { start, end: performance.now() };
}

function overlap(a: Span, b: Span): boolean {
  return a.start < b.end && b.start < a.end;
}

/** Holds the lock for issue `issue` until released; `started` resolves once it is held. */
function hold(db: Db, repoId: number, issue: number) {
  let release = () => {};
  let markStarted = () => {};
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  const done = withIssueLock(db, repoId, issue, () => {
    markStarted();
    return new Promise<void>((resolve) => (release = resolve));
  });
  return { started, done, release: () => release() };
}

describe("withIssueLock", () => {
  const { database, url } = useTestDatabase();
  const db = () => database().db;

  it("runs work for the same issue one at a time, from separate pools as from separate processes", async () => {
    const other = openDatabase(url(), { max: 2 });
    try {
      const [a, b] = await Promise.all([
        withIssueLock(db(), 1, 7, () => timed(300)),
        withIssueLock(other.db, 1, 7, () => timed(300)),
      ]);
      expect(overlap(a, b)).toBe(false);
    } finally {
      await other.close();
    }
  });

  it("lets work for different issues, or the same number in another repository, run at once", async () => {
    // Each holds its lock until all three have started: one waiting for another would never start.
    const held = [hold(db(), 1, 7), hold(db(), 1, 8), hold(db(), 2, 7)];
    const all = Promise.all(held.map((h) => h.started)).then(() => "all started");
    let timer: NodeJS.Timeout | undefined;
    const wait = new Promise((resolve) => (timer = setTimeout(resolve, 5_000, "one waited")));
    const outcome = await Promise.race([all, wait]);
    clearTimeout(timer);
    for (const h of held) h.release();
    await Promise.all(held.map((h) => h.done));
    expect(outcome).toBe("all started");
  });

  it("gives up after the wait, naming the issue, so the job waits and tries again", async () => {
    const holding = hold(db(), 1, 9);
    await holding.started;
    const error = await withIssueLock(db(), 1, 9, async () => "ran", 400).catch((e: unknown) => e);
    holding.release();
    await holding.done;
    expect(error).toBeInstanceOf(IssueBusyError);
    expect(String(error)).toMatch(/issue #9 of repository 1 was still being worked on .* tries again/);
    expect(await withIssueLock(db(), 1, 9, async () => "ran", 400)).toBe("ran");
  });

  it("is free again when the work throws", async () => {
    await expect(
      withIssueLock(db(), 1, 10, async () => {
        throw new Error("GitHub said no");
      }),
    ).rejects.toThrow("GitHub said no");
    expect(await withIssueLock(db(), 1, 10, async () => "next", 200)).toBe("next");
  });

  it("is free again when the process holding it loses its connection (a crash never leaves it held)", async () => {
    const doomed = openDatabase(url(), { max: 2 });
    const holding = hold(doomed.db, 1, 11);
    void holding.done.catch(() => {});
    await holding.started;
    expect(
      await withIssueLock(db(), 1, 11, async () => "busy?", 300).catch((e: unknown) => e),
    ).toBeInstanceOf(IssueBusyError);
    await doomed.sql.end({ timeout: 0 });
    expect(await withIssueLock(db(), 1, 11, async () => "taken over", 2_000)).toBe("taken over");
  });

  it("throws the work's own error even when the lock's connection died meanwhile", async () => {
    class Permanent extends Error {}
    const doomed = openDatabase(url(), { max: 2 });
    const outcome = await withIssueLock(doomed.db, 1, 12, async () => {
      await doomed.sql.end({ timeout: 0 });
      throw new Permanent("bad payload");
    }).catch((e: unknown) => e);
    expect(outcome).toBeInstanceOf(Permanent);
  });
});
