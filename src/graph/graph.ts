import type { TaskState } from "./model.ts";
import { CycleIndex, compareKeyLists } from "./cycle-index.ts";
import {
  SOURCE_STRENGTH,
  compareKeys,
  newNode,
  nodeIsDone,
  type Edge,
  type EdgeSource,
  type IssueKey,
  type IssueNode,
} from "./model.ts";
import { cyclicComponents } from "./scc.ts";

export { compareKeys } from "./model.ts";

/** How a blocker stands, seen from the tasks that wait on it. */
export type BlockerStatus = "done" | "open" | "not-planned" | "unreadable" | "missing";

export interface WaitingOn {
  blocker: IssueKey;
  /** `missing`: the blocker is not in the graph (yet); `unreadable`: Drover cannot see it. */
  why: Exclude<BlockerStatus, "done">;
  /** Where the edge came from, for the status comment. */
  source: EdgeSource;
}

export type Readiness =
  | { kind: "ready" }
  | { kind: "waiting"; on: WaitingOn[] }
  /** Ordered along "blocked by", starting at the smallest key and ending where it started: a → b → a. */
  | { kind: "cycle"; cycle: IssueKey[] };

/** Something that happened to an issue, as the graph needs to know it. */
export type GraphEvent =
  | { type: "label"; key: IssueKey; fields?: Partial<Omit<IssueNode, "key" | "isTask">> }
  | { type: "unlabel"; key: IssueKey }
  | { type: "link"; dependent: IssueKey; blocker: IssueKey; source: EdgeSource }
  | { type: "unlink"; dependent: IssueKey; blocker: IssueKey; source: EdgeSource }
  | { type: "close"; key: IssueKey; closedAs: "completed" | "not_planned" }
  /**
   * `taskState`: the state the caller moved the task to. By default a done task goes to `ready`, the only
   * move out of `done`; the caller then sends it to `waiting` if its readiness says so.
   */
  | { type: "reopen"; key: IssueKey; taskState?: TaskState | null }
  | { type: "start"; key: IssueKey }
  | { type: "finish"; key: IssueKey }
  /** `taskState` defaults to `failed`; `blocked` and `cancelled` end a run the same way. */
  | { type: "fail"; key: IssueKey; taskState?: TaskState };

export interface ReadinessChange {
  key: IssueKey;
  readiness: Readiness;
}

const SOURCES_STRONGEST_FIRST = (Object.keys(SOURCE_STRENGTH) as EdgeSource[]).sort(
  (a, b) => SOURCE_STRENGTH[b] - SOURCE_STRENGTH[a],
);

const NONE: ReadonlyMap<IssueKey, EdgeSource> = new Map();
const NO_KEYS: ReadonlySet<IssueKey> = new Set();

/**
 * The dependency graph of issues: who waits for whom, who is ready, which cycles exist. Pure and
 * in-memory; edges may name issues not (yet) in the graph, which then count as missing blockers.
 *
 * Readiness of a node depends only on its direct blockers and on whether it lies on a cycle, so a change
 * to one issue touches its direct dependents and the cycles through it, never the whole graph. Cycles are
 * kept current incrementally: a change can split only the component it touches and can merge components
 * only through the issue it touches.
 */
export class TaskGraph {
  private readonly nodeMap = new Map<IssueKey, IssueNode>();
  /** dependent → source → blockers, as each source last said. */
  private readonly raw = new Map<IssueKey, Map<EdgeSource, Set<IssueKey>>>();
  /** dependent → blocker → strongest source. */
  private readonly blockerMap = new Map<IssueKey, Map<IssueKey, EdgeSource>>();
  private readonly dependentMap = new Map<IssueKey, Set<IssueKey>>();
  private readonly cycleIndex = new CycleIndex({
    blockersOf: (key) => this.blockersOf(key),
    dependentsOf: (key) => this.dependentsOf(key),
    active: (key) => this.active(key),
  });
  private readonly dirty = new Set<IssueKey>();
  private readonly reported = new Map<IssueKey, string>();

  /** A graph built from scratch, with cycles found in one pass. Every node counts as changed. */
  static rebuild(nodes: Iterable<IssueNode>, edges: Iterable<Edge>): TaskGraph {
    const graph = new TaskGraph();
    for (const node of nodes) graph.nodeMap.set(node.key, { ...node });
    const bySource = new Map<IssueKey, Map<EdgeSource, IssueKey[]>>();
    for (const edge of edges) {
      let sources = bySource.get(edge.dependent);
      if (!sources) bySource.set(edge.dependent, (sources = new Map()));
      let blockers = sources.get(edge.source);
      if (!blockers) sources.set(edge.source, (blockers = []));
      blockers.push(edge.blocker);
    }
    for (const [dependent, sources] of bySource) {
      for (const [source, blockers] of sources) graph.storeEdges(dependent, source, blockers);
    }
    for (const members of cyclicComponents(
      graph.nodeMap.keys(),
      (key) => graph.blockersOf(key).keys(),
      (key) => graph.active(key),
    )) {
      graph.cycleIndex.add(members);
    }
    for (const key of graph.nodeMap.keys()) graph.dirty.add(key);
    return graph;
  }

  // ── reading ────────────────────────────────────────────────────────────────────────────────────────

  get size(): number {
    return this.nodeMap.size;
  }

  node(key: IssueKey): IssueNode | undefined {
    return this.nodeMap.get(key);
  }

  nodes(): IterableIterator<IssueNode> {
    return this.nodeMap.values();
  }

  /** Every edge as each source said it, so `rebuild(graph.nodes(), graph.edges())` is the same graph. */
  edges(): Edge[] {
    const all: Edge[] = [];
    for (const [dependent, sources] of this.raw) {
      for (const [source, blockers] of sources) {
        for (const blocker of blockers) all.push({ dependent, blocker, source });
      }
    }
    return all;
  }

  /** The edges into and out of `key`, one per pair of issues, with the strongest source. */
  edgesOf(key: IssueKey): { blockers: Edge[]; dependents: Edge[] } {
    const blockers = [...this.blockersOf(key)].map(([blocker, source]) => ({
      dependent: key,
      blocker,
      source,
    }));
    const dependents = [...this.dependentsOf(key)].map((dependent) => ({
      dependent,
      blocker: key,
      source: this.blockersOf(dependent).get(key)!,
    }));
    return { blockers, dependents };
  }

  blockersOf(key: IssueKey): ReadonlyMap<IssueKey, EdgeSource> {
    return this.blockerMap.get(key) ?? NONE;
  }

  dependentsOf(key: IssueKey): ReadonlySet<IssueKey> {
    return this.dependentMap.get(key) ?? NO_KEYS;
  }

  /** Closed as completed, or Drover's task done. A blocker closed as not planned is not done. */
  isDone(key: IssueKey): boolean {
    const node = this.nodeMap.get(key);
    return node !== undefined && nodeIsDone(node);
  }

  blockerStatus(key: IssueKey): BlockerStatus {
    const node = this.nodeMap.get(key);
    if (!node) return "missing";
    if (!node.readable) return "unreadable";
    if (nodeIsDone(node)) return "done";
    return node.issueState === "closed" ? "not-planned" : "open";
  }

  inCycle(key: IssueKey): boolean {
    return this.cycleIndex.of(key) !== undefined;
  }

  readiness(key: IssueKey): Readiness {
    const component = this.cycleIndex.of(key);
    if (component) return { kind: "cycle", cycle: this.cycleIndex.cycleThrough(key, component) };
    const on: WaitingOn[] = [];
    for (const [blocker, source] of this.blockersOf(key)) {
      const status = this.blockerStatus(blocker);
      if (status !== "done") on.push({ blocker, why: status, source });
    }
    if (on.length === 0) return { kind: "ready" };
    on.sort((a, b) => compareKeys(a.blocker, b.blocker));
    return { kind: "waiting", on };
  }

  /** Every distinct cycle some node reports, each as in `readiness`. */
  cycles(): IssueKey[][] {
    const found = new Map<string, IssueKey[]>();
    for (const component of this.cycleIndex.all()) {
      for (const member of component.members) {
        const cycle = this.cycleIndex.cycleThrough(member, component);
        found.set(cycle.join(" "), cycle);
      }
    }
    return [...found.values()].sort((a, b) => compareKeyLists(a, b));
  }

  /**
   * The nodes whose readiness differs from what the previous call returned for them (all nodes, on the
   * first call after `rebuild`). Callers act on these only.
   */
  readinessChanges(): ReadinessChange[] {
    const changes: ReadinessChange[] = [];
    for (const key of this.dirty) {
      if (!this.nodeMap.has(key)) {
        this.reported.delete(key);
        continue;
      }
      const readiness = this.readiness(key);
      const signature = signatureOf(readiness);
      if (this.reported.get(key) === signature) continue;
      this.reported.set(key, signature);
      changes.push({ key, readiness });
    }
    this.dirty.clear();
    return changes;
  }

  // ── changing ───────────────────────────────────────────────────────────────────────────────────────
  // Each change returns the keys whose readiness may have changed.

  upsertNode(node: IssueNode): Set<IssueKey> {
    return this.change(node.key, () => this.nodeMap.set(node.key, { ...node }));
  }

  /**
   * The node leaves the graph; every edge stays as its source said it (as in `rebuild`, edges may name
   * issues not in the graph), and its dependents see it missing. `setEdges(key, source, [])` drops edges.
   */
  removeNode(key: IssueKey): Set<IssueKey> {
    return this.change(key, () => this.nodeMap.delete(key));
  }

  /** Replaces what `source` says `dependent` is blocked by. */
  setEdges(dependent: IssueKey, source: EdgeSource, blockers: readonly IssueKey[]): Set<IssueKey> {
    return this.change(dependent, () => this.storeEdges(dependent, source, blockers));
  }

  link(dependent: IssueKey, blocker: IssueKey, source: EdgeSource): Set<IssueKey> {
    const current = this.raw.get(dependent)?.get(source) ?? NO_KEYS;
    if (current.has(blocker)) return new Set();
    return this.setEdges(dependent, source, [...current, blocker]);
  }

  unlink(dependent: IssueKey, blocker: IssueKey, source: EdgeSource): Set<IssueKey> {
    const current = this.raw.get(dependent)?.get(source) ?? NO_KEYS;
    if (!current.has(blocker)) return new Set();
    return this.setEdges(
      dependent,
      source,
      [...current].filter((key) => key !== blocker),
    );
  }

  apply(event: GraphEvent): Set<IssueKey> {
    switch (event.type) {
      case "link":
        return this.link(event.dependent, event.blocker, event.source);
      case "unlink":
        return this.unlink(event.dependent, event.blocker, event.source);
      case "label": {
        const current = this.nodeMap.get(event.key) ?? newNode(event.key);
        return this.upsertNode({ ...current, ...event.fields, isTask: true });
      }
      case "unlabel":
        return this.patch(event.key, { isTask: false });
      case "close":
        return this.patch(event.key, { issueState: "closed", closedAs: event.closedAs });
      case "reopen": {
        const current = this.nodeMap.get(event.key);
        const taskState =
          event.taskState !== undefined
            ? event.taskState
            : current?.taskState === "done"
              ? "ready"
              : (current?.taskState ?? null);
        return this.patch(event.key, { issueState: "open", closedAs: null, taskState });
      }
      case "start":
        return this.patch(event.key, { taskState: "running" });
      case "finish":
        return this.patch(event.key, { taskState: "done" });
      case "fail":
        return this.patch(event.key, { taskState: event.taskState ?? "failed" });
    }
  }

  // ── inside ─────────────────────────────────────────────────────────────────────────────────────────

  private patch(key: IssueKey, fields: Partial<IssueNode>): Set<IssueKey> {
    const current = this.nodeMap.get(key);
    if (!current) return new Set();
    return this.upsertNode({ ...current, ...fields });
  }

  /** Not done and present: the nodes cycles are made of. */
  private active(key: IssueKey): boolean {
    const node = this.nodeMap.get(key);
    return node !== undefined && !nodeIsDone(node);
  }

  /**
   * Applies `mutate` to `key` (its fields or its own edges) and keeps cycles current. Only the component
   * `key` was in can split (an edge gone, or `key` done), and only a cycle through `key` can form (an edge
   * added, or `key` no longer done), so nothing else is searched.
   */
  private change(key: IssueKey, mutate: () => void): Set<IssueKey> {
    const statusBefore = this.blockerStatus(key);
    const wasActive = this.active(key);
    const blockersBefore = new Set(this.blockersOf(key).keys());
    const component = this.cycleIndex.of(key);

    mutate();

    const affected = new Set<IssueKey>([key]);
    const isActive = this.active(key);
    const blockersAfter = this.blockersOf(key);
    if (component && (!isActive || [...blockersBefore].some((blocker) => !blockersAfter.has(blocker)))) {
      this.cycleIndex.split(component, affected);
    }
    const added = [...blockersAfter.keys()].filter((blocker) => !wasActive || !blockersBefore.has(blocker));
    if (isActive && added.length > 0 && this.cycleIndex.closesCycle(key, added)) {
      for (const member of this.cycleIndex.add(this.cycleIndex.membersThrough(key))) affected.add(member);
    }
    if (this.blockerStatus(key) !== statusBefore) {
      for (const dependent of this.dependentsOf(key)) affected.add(dependent);
    }
    for (const changed of affected) {
      this.dirty.add(changed);
      if (!this.nodeMap.has(changed)) affected.delete(changed);
    }
    return affected;
  }

  private storeEdges(dependent: IssueKey, source: EdgeSource, blockers: readonly IssueKey[]): void {
    let sources = this.raw.get(dependent);
    const before = sources?.get(source) ?? NO_KEYS;
    const after = new Set(blockers);
    if (after.size > 0) {
      if (!sources) this.raw.set(dependent, (sources = new Map()));
      sources.set(source, after);
    } else if (sources) {
      sources.delete(source);
      if (sources.size === 0) this.raw.delete(dependent);
    }
    for (const blocker of new Set([...before, ...after])) this.mergeEdge(dependent, blocker);
  }

  /** Keeps one edge per pair, from the strongest source that still says it. */
  private mergeEdge(dependent: IssueKey, blocker: IssueKey): void {
    const sources = this.raw.get(dependent);
    const strongest = SOURCES_STRONGEST_FIRST.find((source) => sources?.get(source)?.has(blocker));
    let blockers = this.blockerMap.get(dependent);
    let dependents = this.dependentMap.get(blocker);
    if (strongest) {
      if (!blockers) this.blockerMap.set(dependent, (blockers = new Map()));
      if (!dependents) this.dependentMap.set(blocker, (dependents = new Set()));
      blockers.set(blocker, strongest);
      dependents.add(dependent);
      return;
    }
    blockers?.delete(blocker);
    if (blockers?.size === 0) this.blockerMap.delete(dependent);
    dependents?.delete(dependent);
    if (dependents?.size === 0) this.dependentMap.delete(blocker);
  }
}

const cycleSignatures = new WeakMap<IssueKey[], string>();

/** Cheap to compare; members of one long cycle share the cycle's signature instead of each spelling it. */
function signatureOf(readiness: Readiness): string {
  if (readiness.kind !== "cycle") return JSON.stringify(readiness);
  let signature = cycleSignatures.get(readiness.cycle);
  if (signature === undefined) {
    signature = `cycle ${readiness.cycle.join(" ")}`;
    cycleSignatures.set(readiness.cycle, signature);
  }
  return signature;
}
