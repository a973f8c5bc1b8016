import { describe, expect, it } from "vitest";
import { pickTasks, type ReadyTask } from "../../../src/scheduler/pick.ts";

const tasks = (repo: string, n: number, installation = 1): ReadyTask[] =>
  Array.from({ length: n }, (_, i) => ({ key: `${repo}#${i + 1}`, repo, installation }));

describe("picking tasks to start", () => {
  it("gives a quiet repository a slot beside a busy one", () => {
    const picked = pickTasks({
      ready: [...tasks("o/a", 50), ...tasks("o/b", 1)],
      running: [],
      maxWorkers: () => 10,
      capacity: 2,
    });
    expect(picked.sort()).toEqual(["o/a#1", "o/b#1"]);
  });

  it("takes each repository's tasks in the given order", () => {
    const picked = pickTasks({ ready: tasks("o/a", 5), running: [], maxWorkers: () => 3, capacity: 10 });
    expect(picked).toEqual(["o/a#1", "o/a#2", "o/a#3"]);
  });

  it("respects max_workers, counting tasks already running", () => {
    const picked = pickTasks({
      ready: [...tasks("o/a", 5), ...tasks("o/b", 5)],
      running: [{ repo: "o/a", installation: 1 }],
      maxWorkers: (repo) => (repo === "o/a" ? 2 : 1),
      capacity: 10,
    });
    expect(picked.sort()).toEqual(["o/a#1", "o/b#1"]);
  });

  it("respects the pool's capacity", () => {
    expect(pickTasks({ ready: tasks("o/a", 5), running: [], maxWorkers: () => 5, capacity: 2 })).toHaveLength(
      2,
    );
    expect(pickTasks({ ready: tasks("o/a", 5), running: [], maxWorkers: () => 5, capacity: 0 })).toEqual([]);
  });

  it("balances installations first, then repositories within one", () => {
    const picked = pickTasks({
      ready: [...tasks("x/a", 5, 1), ...tasks("x/b", 5, 1), ...tasks("y/c", 5, 2)],
      running: [],
      maxWorkers: () => 5,
      capacity: 4,
    });
    // Two slots per installation; installation 1 splits its two between its repositories.
    expect(picked.sort()).toEqual(["x/a#1", "x/b#1", "y/c#1", "y/c#2"]);
  });

  it("gives the next free slot to whoever is furthest behind", () => {
    const picked = pickTasks({
      ready: [...tasks("o/a", 5), ...tasks("o/b", 5)],
      running: [
        { repo: "o/a", installation: 1 },
        { repo: "o/a", installation: 1 },
      ],
      maxWorkers: () => 5,
      capacity: 3,
    });
    expect(picked).toEqual(["o/b#1", "o/b#2", expect.stringMatching(/^o\/[ab]#/)]);
  });

  it("rotates who goes first among equals with the cursor", () => {
    const input = {
      ready: [...tasks("o/a", 3), ...tasks("o/b", 3)],
      running: [],
      maxWorkers: () => 5,
      capacity: 1,
    };
    expect(pickTasks({ ...input, cursor: 0 })).toEqual(["o/a#1"]);
    expect(pickTasks({ ...input, cursor: 1 })).toEqual(["o/b#1"]);
    expect(pickTasks({ ...input, cursor: 2 })).toEqual(["o/a#1"]);
  });

  it("never starves a repository over many rounds", () => {
    const started = new Map<string, number>();
    for (let round = 0; round < 20; round++) {
      for (const key of pickTasks({
        ready: [...tasks("o/a", 50), ...tasks("o/b", 50), ...tasks("o/c", 50)],
        running: [],
        maxWorkers: () => 10,
        capacity: 1,
        cursor: round,
      })) {
        const repo = key.split("#")[0]!;
        started.set(repo, (started.get(repo) ?? 0) + 1);
      }
    }
    expect([...started.values()].sort()).toEqual([6, 7, 7]);
  });
});
