import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  formatBytes,
  planDisk,
  renderPrune,
  summarizeRemovals,
  type DiskItem,
  type DiskPlanOptions,
} from "../../../src/git/disk-plan.ts";

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 6, 12);
const MB = 1_000_000;

function item(kind: DiskItem["kind"], key: string, fields: Partial<DiskItem> = {}): DiskItem {
  return { kind, key, bytes: MB, lastUsed: NOW - DAY, removable: true, ...fields };
}

const opts = (fields: Partial<DiskPlanOptions> = {}): DiskPlanOptions => ({
  budget: undefined,
  keepRunsMs: 7 * DAY,
  now: NOW,
  all: false,
  otherBytes: 0,
  ...fields,
});

const removedKeys = (items: DiskItem[], fields: Partial<DiskPlanOptions> = {}) =>
  planDisk(items, opts(fields)).removals.map((r) => r.item.key);

describe("planDisk", () => {
  it("removes run directories past DROVER_KEEP_RUNS and nothing else when under budget", () => {
    const items = [
      item("run", "runs/1-1-1-1", { lastUsed: NOW - 8 * DAY }),
      item("run", "runs/1-2-1-1", { lastUsed: NOW - 6 * DAY }),
      item("run", "runs/1-3-1-1", { lastUsed: NOW - 30 * DAY, removable: false }),
      item("slot", "pool/o/n/00000001", { lastUsed: NOW - 60 * DAY }),
      item("mirror", "mirrors/o/gone.git", { lastUsed: NOW - 60 * DAY }),
      item("cache", "cache/o/n", { lastUsed: NOW - 60 * DAY }),
    ];
    const plan = planDisk(items, opts({ budget: 100 * MB }));
    expect(plan.removals).toEqual([{ item: items[0], reason: "expired", bytes: MB }]);
    expect(plan).toMatchObject({ usage: 6 * MB, after: 5 * MB, overBudget: false, kept: [] });
  });

  it("removes what crashes left every pass, unless something still uses it", () => {
    const items = [
      item("slot", "pool/o/n/0000000a", { garbage: true }),
      item("leftover", "worktrees/1-1-1-1", { garbage: true }),
      item("leftover", "worktrees/1-2-1-1", { garbage: true, removable: false }),
      item("slot", "pool/o/n/0000000b"),
    ];
    expect(removedKeys(items)).toEqual(["pool/o/n/0000000a", "worktrees/1-1-1-1"]);
  });

  it("over budget, evicts idle slots and unused mirrors least recently used first, then old runs", () => {
    const items = [
      item("slot", "pool/o/n/00000001", { lastUsed: NOW - 3 * DAY }),
      item("slot", "pool/o/n/00000002", { lastUsed: NOW - 5 * DAY }),
      item("slot", "pool/o/n/00000003", { lastUsed: NOW - 9 * DAY, removable: false }),
      item("mirror", "mirrors/o/gone.git", {
        lastUsed: NOW - 4 * DAY,
        bytes: 2 * MB,
        with: ["cache/o/gone"],
      }),
      item("cache", "cache/o/gone", { bytes: 3 * MB }),
      item("mirror", "mirrors/o/n.git", { lastUsed: NOW - 20 * DAY, removable: false, bytes: 10 * MB }),
      item("run", "runs/1-1-1-1", { lastUsed: NOW - 2 * DAY }),
      item("run", "runs/1-2-1-1", { lastUsed: NOW - DAY }),
    ];
    // 20 MB in all, 11.5 MB allowed. The oldest slot is claimed and the oldest mirror's repository
    // installed: the next idle slot goes (1 MB), the unused mirror with its cache (5 MB), the other slot
    // (1 MB); 13 MB is still over, so the runs go, the older first.
    const plan = planDisk(items, opts({ budget: 11.5 * MB }));
    expect(plan.removals.map((r) => [r.item.key, r.reason, r.bytes])).toEqual([
      ["pool/o/n/00000002", "budget", MB],
      ["mirrors/o/gone.git", "budget", 5 * MB],
      ["pool/o/n/00000001", "budget", MB],
      ["runs/1-1-1-1", "budget", MB],
      ["runs/1-2-1-1", "budget", MB],
    ]);
    expect(plan).toMatchObject({ usage: 20 * MB, after: 11 * MB, overBudget: false });
  });

  it("stops as soon as the budget is met", () => {
    const items = [
      item("slot", "pool/o/n/00000001", { lastUsed: NOW - 3 * DAY }),
      item("slot", "pool/o/n/00000002", { lastUsed: NOW - 5 * DAY }),
      item("run", "runs/1-1-1-1", { lastUsed: NOW - 2 * DAY }),
    ];
    expect(removedKeys(items, { budget: 2 * MB })).toEqual(["pool/o/n/00000002"]);
  });

  it("never removes a claimed slot, a running attempt's run or an installed repository's mirror: says it is over", () => {
    const items = [
      item("slot", "pool/o/n/00000001", {
        removable: false,
        keptBecause: "claimed by a live process (fill)",
      }),
      item("run", "runs/1-1-1-1", { removable: false, lastUsed: NOW - 90 * DAY }),
      item("mirror", "mirrors/o/n.git", { removable: false, bytes: 50 * MB }),
      item("run", "runs/1-2-1-1"),
    ];
    const plan = planDisk(items, opts({ budget: 10 * MB, otherBytes: 5 * MB }));
    expect(plan.removals.map((r) => r.item.key)).toEqual(["runs/1-2-1-1"]);
    expect(plan).toMatchObject({ usage: 58 * MB, after: 57 * MB, overBudget: true });
  });

  it("does not count a mirror's slot twice when the slot went first", () => {
    const items = [
      item("slot", "pool/o/gone/00000001", { lastUsed: NOW - 9 * DAY, bytes: 4 * MB }),
      item("mirror", "mirrors/o/gone.git", { lastUsed: NOW - 2 * DAY, with: ["pool/o/gone/00000001"] }),
    ];
    const plan = planDisk(items, opts({ budget: 0.5 * MB }));
    expect(plan.removals.map((r) => [r.item.key, r.bytes])).toEqual([
      ["pool/o/gone/00000001", 4 * MB],
      ["mirrors/o/gone.git", MB],
    ]);
    expect(plan.after).toBe(0);
  });

  it("with --all removes every idle slot, finished run, cache and unused mirror, and lists what it kept", () => {
    const claimed = item("slot", "pool/o/n/00000002", { removable: false, keptBecause: "claimed" });
    const running = item("run", "runs/1-2-1-1", { removable: false, keptBecause: "its attempt is running" });
    const items = [
      item("slot", "pool/o/n/00000001"),
      claimed,
      item("run", "runs/1-1-1-1"),
      running,
      item("cache", "cache/o/n"),
      item("mirror", "mirrors/o/n.git", { removable: false, keptBecause: "Drover is installed on it" }),
      item("mirror", "mirrors/o/gone.git"),
    ];
    const plan = planDisk(items, opts({ all: true }));
    expect(plan.removals.map((r) => [r.item.key, r.reason])).toEqual([
      ["pool/o/n/00000001", "all"],
      ["runs/1-1-1-1", "all"],
      ["cache/o/n", "all"],
      ["mirrors/o/gone.git", "all"],
    ]);
    expect(plan.kept).toEqual([claimed, running]);
  });

  it("never plans a removal of what may not be removed, and meets the budget when the removable allows", () => {
    const arbitraryItem = fc.record({
      kind: fc.constantFrom(...(["slot", "mirror", "run", "leftover", "cache"] as const)),
      bytes: fc.integer({ min: 0, max: 1000 }),
      age: fc.integer({ min: 0, max: 30 }),
      removable: fc.boolean(),
      garbage: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(arbitraryItem, { maxLength: 30 }),
        fc.option(fc.integer({ min: 0, max: 20_000 }), { nil: undefined }),
        fc.boolean(),
        (raw, budget, all) => {
          const items = raw.map((r, i): DiskItem => ({
            kind: r.kind,
            key: `${r.kind}/${i}`,
            bytes: r.bytes,
            lastUsed: NOW - r.age * DAY,
            removable: r.removable,
            garbage: r.garbage,
          }));
          const plan = planDisk(items, opts({ budget, all }));
          const keys = plan.removals.map((r) => r.item.key);
          expect(new Set(keys).size).toBe(keys.length);
          expect(plan.removals.every((r) => r.item.removable)).toBe(true);
          expect(plan.after).toBe(plan.usage - plan.removals.reduce((sum, r) => sum + r.bytes, 0));
          const evictable = items.filter(
            (i) => i.removable && ["slot", "mirror", "run"].includes(i.kind) && !keys.includes(i.key),
          );
          // Over budget at the end only when nothing the budget may evict is left.
          if (plan.overBudget) expect(evictable).toEqual([]);
          else if (budget !== undefined) expect(plan.after).toBeLessThanOrEqual(budget);
        },
      ),
    );
  });
});

describe("what a pass says", () => {
  it("sizes in decimal units, as the budget is written", () => {
    expect([0, 999, 1000, 412 * MB, 1.23e9, 20e9, 999_999].map(formatBytes)).toEqual([
      "0 B",
      "999 B",
      "1 KB",
      "412 MB",
      "1.2 GB",
      "20 GB",
      "1 MB",
    ]);
  });

  it("one line of what went by kind, and where DROVER_HOME stands against its budget", () => {
    const removed = [
      ...[1, 2, 3].map(() => ({ kind: "slot" as const, bytes: 137 * MB + 333_334 })),
      ...Array.from({ length: 28 }, () => ({ kind: "run" as const, bytes: (96 * MB) / 28 })),
    ];
    expect(summarizeRemovals(removed, { usage: 1.2e9, budget: 20e9 })).toBe(
      "removed 3 pooled worktrees (412 MB), 28 run directories (96 MB); DROVER_HOME now 1.2 GB of 20 GB",
    );
    expect(summarizeRemovals([], { usage: 5 * MB, budget: undefined })).toBe(
      "removed nothing; DROVER_HOME now 5 MB",
    );
  });

  it("the command lists each path, what it skipped and why", () => {
    const text = renderPrune({
      removed: [{ kind: "run", key: "runs/1-1-1-1", bytes: 2 * MB }],
      kept: [{ kind: "slot", key: "pool/o/n/00000002", why: "claimed by a live process (attempt 1-2-1-1)" }],
      usage: 10 * MB,
      budget: undefined,
    });
    expect(text.split("\n")).toEqual([
      "removed runs/1-1-1-1 (2 MB)",
      "skipped pool/o/n/00000002: claimed by a live process (attempt 1-2-1-1)",
      "removed 1 run directory (2 MB); DROVER_HOME now 10 MB",
      "skipped 1 pooled worktree (why above): a claimed worktree or a running attempt's directory is never removed",
      "",
    ]);
  });
});
