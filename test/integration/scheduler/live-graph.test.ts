import { and, eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { DroverConfig } from "../../../src/config/schema.ts";
import { pruneGraphChanges, replaceEdges, upsertIssue } from "../../../src/db/graph-rows.ts";
import {
  dependencies,
  graphChanges,
  issues,
  repositories,
  tasks,
  TASK_STATES,
} from "../../../src/db/schema.ts";
import { compareKeys } from "../../../src/graph/model.ts";
import type { EdgeSource } from "../../../src/graph/model.ts";
import { LiveGraph } from "../../../src/scheduler/live-graph.ts";
import { seeded } from "../../../src/lib/random.ts";
import { useTestDatabase } from "../../helpers/db.ts";

const REPO = { id: 700, fullName: "Octo/Live", installationId: 3 };
const key = (n: number) => `octo/live#${n}`;
const config = DroverConfig.parse({ max_workers: 3 });

/**
 * The scheduler's in-memory graph, kept current from `graph_changes`, against one loaded from scratch:
 * after any sequence of writes they must say the same about every issue and task.
 */
describe("LiveGraph", () => {
  const testDb = useTestDatabase();
  const db = () => testDb.database().db;

  beforeEach(async () => {
    await db().delete(tasks);
    await db().delete(dependencies);
    await db().delete(issues);
    await db().delete(repositories);
    await db()
      .insert(repositories)
      .values({ ...REPO, cloneUrl: "file:///nowhere", defaultBranch: "main" });
  });

  /** Everything a pass decides from, in a form `toEqual` compares. */
  function picture(live: LiveGraph) {
    const nodes = [...live.graph.nodes()].sort((a, b) => compareKeys(a.key, b.key));
    return {
      nodes,
      readiness: nodes.map((node) => [node.key, live.graph.readiness(node.key)]),
      edges: live.graph
        .edges()
        .map((e) => `${e.dependent} ${e.blocker} ${e.source}`)
        .sort(),
      cycles: live.graph.cycles(),
      paths: new Map([...live.criticalPaths()].sort(([a], [b]) => compareKeys(a, b))),
      tasks: new Map([...live.tasks].sort(([a], [b]) => a - b)),
      issues: new Map(
        [...live.issues]
          .sort(([a], [b]) => compareKeys(a, b))
          .map(([k, issue]) => [k, { ...issue, linksSyncedAt: issue.linksSyncedAt !== null }]),
      ),
    };
  }

  async function expectSameAsRebuilt(live: LiveGraph) {
    const fresh = new LiveGraph();
    expect((await fresh.refresh(db())).rebuilt).toBe(true);
    expect(picture(live)).toEqual(picture(fresh));
  }

  async function writeIssue(n: number, fields: Partial<typeof issues.$inferInsert> = {}) {
    await upsertIssue(db(), {
      key: key(n),
      installationId: REPO.installationId,
      repoFullName: REPO.fullName,
      number: n,
      title: `Issue ${n}`,
      linksSyncedAt: new Date(),
      githubCreatedAt: new Date(Date.UTC(2026, 0, n)),
      ...fields,
    });
  }

  it.each([42, 7, 1234])(
    "stays equal to a graph loaded from scratch through random writes (seed %i)",
    async (seed) => {
      const random = seeded(seed);
      const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
      const number = () => 1 + Math.floor(random() * 25);
      const live = new LiveGraph();
      await live.refresh(db());
      for (let round = 0; round < 40; round++) {
        for (let write = 0; write < 1 + Math.floor(random() * 6); write++) {
          const n = number();
          switch (pick(["issue", "issue", "edges", "edges", "edges", "task", "state", "drop"] as const)) {
            case "issue":
              await writeIssue(n, {
                state: random() < 0.3 ? "closed" : "open",
                closedAs: pick(["completed", "not_planned", null] as const),
                labels: random() < 0.3 ? [pick(["priority: high", "P0", "priority: low"])] : [],
                readable: random() > 0.1,
                unreadableReason: random() > 0.5 ? "is in a repository the app is not installed on" : null,
                parentKey: random() < 0.2 ? key(number()) : null,
                linksSyncedAt: random() < 0.9 ? new Date() : null,
              });
              break;
            case "edges":
              await replaceEdges(
                db(),
                key(n),
                pick<EdgeSource>(["native", "body", "sub-issue"]),
                Array.from({ length: Math.floor(random() * 3) }, () => key(number())),
              );
              break;
            case "task":
              await db()
                .insert(tasks)
                .values({
                  repoId: REPO.id,
                  issueNumber: n,
                  title: `Issue ${n}`,
                  state: pick(["waiting", "ready", "queued"] as const),
                  createdBy: "mona",
                  branch: `drover/${n}-x`,
                  config,
                })
                .onConflictDoNothing();
              break;
            case "state":
              await db()
                .update(tasks)
                .set({
                  state: pick(TASK_STATES),
                  stateReason: pick(["a", "b", null]),
                  cycle: pick(["c", null]),
                })
                .where(and(eq(tasks.repoId, REPO.id), eq(tasks.issueNumber, n)));
              break;
            case "drop":
              await db()
                .delete(tasks)
                .where(and(eq(tasks.repoId, REPO.id), eq(tasks.issueNumber, n)));
              break;
          }
        }
        const { rebuilt } = await live.refresh(db());
        expect(rebuilt).toBe(false);
        await expectSameAsRebuilt(live);
      }
    },
  );

  it("reads a change committed after a later one it has already read", async () => {
    await writeIssue(1);
    await writeIssue(2);
    const live = new LiveGraph();
    await live.refresh(db());
    const { sql } = testDb.database();
    let commit!: () => void;
    const committed = new Promise<void>((resolve) => (commit = resolve));
    let inserted!: () => void;
    const insertedYet = new Promise<void>((resolve) => (inserted = resolve));
    // A transaction that wrote an edge and is still open while another writes, and the graph is read.
    const slow = sql.begin(async (tx) => {
      await tx`insert into dependencies (dependent, blocker, source) values (${key(2)}, ${key(1)}, 'native')`;
      inserted();
      await committed;
    });
    await insertedYet;
    await writeIssue(3);
    await live.refresh(db());
    expect(live.graph.blockersOf(key(2)).size).toBe(0);
    commit();
    await slow;
    await live.refresh(db());
    expect([...live.graph.blockersOf(key(2)).keys()]).toEqual([key(1)]);
    expect(live.graph.readiness(key(2))).toEqual({
      kind: "waiting",
      on: [{ blocker: key(1), why: "open", source: "native" }],
    });
  });

  it("loads everything again when the changes it had not read were pruned", async () => {
    await writeIssue(1);
    const live = new LiveGraph();
    await live.refresh(db());
    await writeIssue(2);
    await replaceEdges(db(), key(2), "native", [key(1)]);
    await pruneGraphChanges(db(), 0);
    expect(await db().select().from(graphChanges)).toEqual([]);
    const { rebuilt } = await live.refresh(db());
    expect(rebuilt).toBe(true);
    expect([...live.graph.blockersOf(key(2)).keys()]).toEqual([key(1)]);
    await expectSameAsRebuilt(live);
  });

  it("follows a repository renamed and moved to another installation", async () => {
    await writeIssue(5);
    await db().insert(tasks).values({
      repoId: REPO.id,
      issueNumber: 5,
      title: "Issue 5",
      state: "ready",
      createdBy: "mona",
      branch: "drover/5-x",
      config,
    });
    const live = new LiveGraph();
    await live.refresh(db());
    await db()
      .update(repositories)
      .set({ fullName: "Octo/Renamed", installationId: 9 })
      .where(eq(repositories.id, REPO.id));
    const { rebuilt } = await live.refresh(db());
    expect(rebuilt).toBe(false);
    expect([...live.tasks.values()]).toMatchObject([{ repoFullName: "Octo/Renamed", installationId: 9 }]);
    expect(live.graph.node("octo/renamed#5")).toMatchObject({ isTask: true, taskState: "ready" });
    await expectSameAsRebuilt(live);
  });

  it("writes no change for a sync that changes nothing the graph reads", async () => {
    await writeIssue(1);
    const before = await db().select().from(graphChanges);
    await writeIssue(1, { title: "A new title" });
    expect(await db().select().from(graphChanges)).toHaveLength(before.length);
    await writeIssue(1, { state: "closed", closedAs: "completed" });
    expect(await db().select().from(graphChanges)).toHaveLength(before.length + 1);
  });
});
