import { taskConfigOrDefaults } from "../config/stored.ts";
import type { Db } from "../db/client.ts";
import {
  loadGraph,
  loadGraphPart,
  readGraphChanges,
  recentDurations,
  type GraphRows,
  type GraphTaskRow,
  type IssueRow,
} from "../db/graph-rows.ts";
import { CriticalPaths } from "../graph/critical-path.ts";
import type { TaskGraph } from "../graph/graph.ts";
import type { EdgeSource, IssueKey } from "../graph/model.ts";
import { SOURCE_STRENGTH } from "../graph/model.ts";
import { buildView, nodeOf, taskKey, type PlanIssue, type PlanTask, type PlanView } from "./plan-view.ts";

/** Expected durations are read again at most this often (they only order ready tasks). */
const DURATIONS_TTL_MS = 60_000;
const SOURCES = Object.keys(SOURCE_STRENGTH) as EdgeSource[];

/**
 * The task graph kept in memory between scheduling passes, so a pass reads only what changed: the keys
 * in `graph_changes` since it last looked (written by triggers on every graph table), not 10,000 tasks.
 * The first pass in a process, or one after the change log was pruned past it, loads everything.
 */
export class LiveGraph implements PlanView {
  graph!: TaskGraph;
  #paths!: CriticalPaths;
  tasks = new Map<number, PlanTask>();
  issues = new Map<IssueKey, PlanIssue>();
  readonly #taskByKey = new Map<IssueKey, number>();
  #durations: ReadonlyMap<number, readonly number[]> = new Map();
  #durationsAt = 0;
  /** Where the next read of `graph_changes` starts; null until loaded. */
  #watermark: number | null = null;

  /**
   * Brings the graph up to date. Returns the tasks a pass should look at again: those whose rows changed,
   * whose readiness changed, or whose blockers changed (a blocker's reason appears in their status).
   */
  async refresh(db: Db): Promise<{ consider: Set<number>; rebuilt: boolean }> {
    const changes = await readGraphChanges(db, this.#watermark);
    if (this.#watermark === null || changes.prunedBelow > this.#watermark) {
      const [rows, durations] = await Promise.all([loadGraph(db), recentDurations(db)]);
      this.#load(rows, durations);
      this.#watermark = changes.watermark;
      return { consider: new Set(this.tasks.keys()), rebuilt: true };
    }
    const consider = new Set<number>();
    const touched = new Set<IssueKey>(changes.keys);
    // Whose critical path may move: the touched nodes, and their blockers before and after.
    const moved = new Set<IssueKey>();
    const withBlockers = (key: IssueKey) => {
      moved.add(key);
      for (const blocker of this.graph.blockersOf(key).keys()) moved.add(blocker);
    };
    if (changes.keys.length > 0 || changes.taskIds.length > 0) {
      const part = await loadGraphPart(db, changes.keys, changes.taskIds);
      changes.keys.forEach(withBlockers);
      for (const key of this.#applyPart(part, changes.keys, changes.taskIds)) touched.add(key);
    }
    if (Date.now() - this.#durationsAt > DURATIONS_TTL_MS) {
      for (const key of this.#setDurations(await recentDurations(db))) touched.add(key);
    }
    for (const key of touched) {
      this.#refreshNode(key);
      this.#considerAround(key, consider);
      withBlockers(key);
    }
    for (const { key } of this.graph.readinessChanges()) {
      const id = this.#taskByKey.get(key);
      if (id !== undefined) consider.add(id);
      moved.add(key); // it joined or left a cycle, or a blocker's state changed
    }
    this.#paths.update(moved);
    this.#watermark = changes.watermark;
    return { consider, rebuilt: false };
  }

  #load(rows: GraphRows, durations: Map<number, number[]>): void {
    this.tasks = new Map(rows.tasks.map((row) => [row.id, planTask(row)]));
    this.issues = new Map(rows.issues.map((row) => [row.key, planIssue(row)]));
    this.#taskByKey.clear();
    for (const task of this.tasks.values()) this.#taskByKey.set(taskKey(task), task.id);
    this.#durations = durations;
    this.#durationsAt = Date.now();
    this.graph = buildView({
      issues: [...this.issues.values()],
      edges: rows.edges,
      tasks: [...this.tasks.values()],
      durations,
    }).graph;
    this.graph.readinessChanges(); // every node counts as changed after a rebuild; the pass looks at all
    this.#paths = new CriticalPaths(this.graph);
  }

  /** Replaces the cached rows of the changed keys and tasks; returns every key whose node may differ. */
  #applyPart(part: GraphRows, keys: readonly string[], taskIds: readonly number[]): IssueKey[] {
    const touched: IssueKey[] = [];
    for (const key of keys) this.issues.delete(key);
    for (const row of part.issues) this.issues.set(row.key, planIssue(row));
    const blockers = new Map<string, IssueKey[]>();
    for (const edge of part.edges) {
      const id = `${edge.source} ${edge.dependent}`;
      blockers.set(id, [...(blockers.get(id) ?? []), edge.blocker]);
    }
    for (const key of keys) {
      for (const source of SOURCES) this.graph.setEdges(key, source, blockers.get(`${source} ${key}`) ?? []);
    }
    for (const id of taskIds) {
      const gone = this.tasks.get(id);
      if (!gone) continue;
      this.tasks.delete(id);
      if (this.#taskByKey.get(taskKey(gone)) === id) this.#taskByKey.delete(taskKey(gone));
      touched.push(taskKey(gone));
    }
    for (const row of part.tasks) {
      const task = planTask(row);
      this.tasks.set(task.id, task);
      this.#taskByKey.set(taskKey(task), task.id);
      touched.push(taskKey(task));
    }
    return touched;
  }

  taskAt(key: IssueKey): PlanTask | undefined {
    const id = this.#taskByKey.get(key);
    return id === undefined ? undefined : this.tasks.get(id);
  }

  criticalPaths(): ReadonlyMap<IssueKey, number> {
    return this.#paths.paths;
  }

  #setDurations(durations: Map<number, number[]>): IssueKey[] {
    const changed = new Set<number>();
    for (const repoId of new Set([...durations.keys(), ...this.#durations.keys()])) {
      if (String(durations.get(repoId)) !== String(this.#durations.get(repoId))) changed.add(repoId);
    }
    this.#durations = durations;
    this.#durationsAt = Date.now();
    return [...this.tasks.values()].filter((t) => changed.has(t.repoId)).map(taskKey);
  }

  #refreshNode(key: IssueKey): void {
    const issue = this.issues.get(key);
    const id = this.#taskByKey.get(key);
    const task = id === undefined ? undefined : this.tasks.get(id);
    if (!issue && !task) {
      if (this.graph.node(key)) this.graph.removeNode(key);
      return;
    }
    this.graph.upsertNode(nodeOf(key, issue, task, this.#durations));
  }

  /** The task at `key` and the tasks waiting on it (their status names it, and why it holds them). */
  #considerAround(key: IssueKey, consider: Set<number>): void {
    for (const each of [key, ...this.graph.dependentsOf(key)]) {
      const id = this.#taskByKey.get(each);
      if (id !== undefined) consider.add(id);
    }
  }
}

/**
 * The fields a pass reads. `linksSyncedAt` only says whether the links were read: its later moves leave
 * no change behind (see migration 0006), so its time may be older than the row's.
 */
function planIssue(row: IssueRow): PlanIssue {
  return {
    key: row.key,
    repoFullName: row.repoFullName,
    number: row.number,
    state: row.state,
    closedAs: row.closedAs,
    labels: row.labels,
    parentKey: row.parentKey,
    subOrder: row.subOrder,
    readable: row.readable,
    unreadableReason: row.unreadableReason,
    githubCreatedAt: row.githubCreatedAt,
    linksSyncedAt: row.linksSyncedAt,
  };
}

function planTask(row: GraphTaskRow): PlanTask {
  // A stored config that cannot be read must not stop every repository's scheduling.
  const config = taskConfigOrDefaults(row);
  return {
    id: row.id,
    repoId: row.repoId,
    repoFullName: row.repoFullName,
    installationId: row.installationId,
    issueNumber: row.issueNumber,
    state: row.state,
    cycle: row.cycle,
    stateReason: row.stateReason,
    maxWorkers: config.max_workers,
    createdAt: row.createdAt,
    branch: row.branch,
    stack: config.stack,
    passed: row.passed,
  };
}
