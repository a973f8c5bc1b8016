import type { TaskState } from "./model.ts";
import {
  SOURCE_STRENGTH,
  newNode,
  nodeIsDone,
  type Edge,
  type EdgeSource,
  type IssueKey,
  type IssueNode,
} from "./model.ts";
import { cyclicComponents } from "./scc.ts";

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

/** The nodes that lie on a cycle together (one strongly connected component). */
interface Component {
  members: Set<IssueKey>;
  /** The cycle each member reports, computed on first use. */
  cycles: Map<IssueKey, IssueKey[]>;
  /** Shortest paths to and from the component's smallest key, computed on first use. */
  paths?: ComponentPaths;
}

interface ComponentPaths {
  root: IssueKey;
  /** The next step from a member towards the root. */
  towardsRoot: Map<IssueKey, IssueKey>;
  /** The step before a member on the way from the root. */
  fromRoot: Map<IssueKey, IssueKey>;
  /** Set when the component is one simple cycle: every member reports it. */
  only: IssueKey[] | null;
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
  /** Only nodes that lie on a cycle have an entry. */
  private readonly components = new Map<IssueKey, Component>();
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
      graph.setComponent(members);
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
    return this.components.has(key);
  }

  readiness(key: IssueKey): Readiness {
    const component = this.components.get(key);
    if (component) return { kind: "cycle", cycle: this.cycleThrough(key, component) };
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
    for (const component of new Set(this.components.values())) {
      for (const member of component.members) {
        const cycle = this.cycleThrough(member, component);
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

  /** The node leaves the graph with its own edges; edges onto it stay, and its dependents see it missing. */
  removeNode(key: IssueKey): Set<IssueKey> {
    return this.change(key, () => {
      this.nodeMap.delete(key);
      const sources = this.raw.get(key);
      if (sources) for (const source of [...sources.keys()]) this.storeEdges(key, source, []);
    });
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
    const component = this.components.get(key);

    mutate();

    const affected = new Set<IssueKey>([key]);
    const isActive = this.active(key);
    const blockersAfter = this.blockersOf(key);
    if (component && (!isActive || [...blockersBefore].some((blocker) => !blockersAfter.has(blocker)))) {
      this.split(component, affected);
    }
    const added = [...blockersAfter.keys()].filter((blocker) => !wasActive || !blockersBefore.has(blocker));
    if (isActive && added.length > 0 && this.closesCycle(key, added)) {
      for (const member of this.setComponent(this.cycleMembersThrough(key))) affected.add(member);
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

  /** Finds what is left of a component's cycles after an edge or a member went. */
  private split(component: Component, affected: Set<IssueKey>): void {
    for (const member of component.members) {
      this.components.delete(member);
      affected.add(member);
    }
    const rest = new Set([...component.members].filter((member) => this.active(member)));
    for (const members of cyclicComponents(
      rest,
      (member) => this.blockersOf(member).keys(),
      (member) => rest.has(member),
    )) {
      this.setComponent(members);
    }
  }

  private setComponent(members: Iterable<IssueKey>): Set<IssueKey> {
    const component: Component = { members: new Set(members), cycles: new Map() };
    for (const member of component.members) this.components.set(member, component);
    return component.members;
  }

  /**
   * Whether one of `key`'s blockers `from` leads back to `key`: search forward from them and backward
   * from `key`'s dependents, growing the smaller side, until the two meet (a cycle) or one side runs out
   * (none). In a DAG one side is usually small, so this rarely walks far.
   */
  private closesCycle(key: IssueKey, from: readonly IssueKey[]): boolean {
    const forward = new Set<IssueKey>();
    const backward = new Set<IssueKey>();
    const forwardQueue: IssueKey[] = [];
    const backwardQueue: IssueKey[] = [];
    const meetsForward = (next: IssueKey): boolean => {
      if (forward.has(next) || !this.active(next)) return false;
      if (next === key || backward.has(next)) return true;
      forward.add(next);
      forwardQueue.push(next);
      return false;
    };
    const meetsBackward = (next: IssueKey): boolean => {
      if (backward.has(next) || !this.active(next)) return false;
      if (next === key || forward.has(next)) return true;
      backward.add(next);
      backwardQueue.push(next);
      return false;
    };
    for (const blocker of from) if (meetsForward(blocker)) return true;
    for (const dependent of this.dependentsOf(key)) if (meetsBackward(dependent)) return true;
    let f = 0;
    let b = 0;
    while (f < forwardQueue.length && b < backwardQueue.length) {
      if (forward.size <= backward.size) {
        for (const next of this.blockersOf(forwardQueue[f++]!).keys()) if (meetsForward(next)) return true;
      } else {
        for (const next of this.dependentsOf(backwardQueue[b++]!)) if (meetsBackward(next)) return true;
      }
    }
    return false;
  }

  /** The component of `key`, which lies on a cycle: what it reaches that also reaches it. */
  private cycleMembersThrough(key: IssueKey): Set<IssueKey> {
    const reached = new Set<IssueKey>([key]);
    const queue = [key];
    for (let i = 0; i < queue.length; i++) {
      for (const next of this.blockersOf(queue[i]!).keys()) {
        if (!reached.has(next) && this.active(next)) {
          reached.add(next);
          queue.push(next);
        }
      }
    }
    const members = new Set<IssueKey>([key]);
    const back = [key];
    for (let i = 0; i < back.length; i++) {
      for (const next of this.dependentsOf(back[i]!)) {
        if (!members.has(next) && reached.has(next)) {
          members.add(next);
          back.push(next);
        }
      }
    }
    return members;
  }

  /**
   * A cycle through `key`: from `key` to the component's smallest key and back, by shortest paths found
   * breadth-first with neighbours in key order, with any loop on the way cut out. It starts at the
   * smallest key, does not depend on the order edges arrived in, and costs one pass per component plus the
   * cycle's length per member; every member of a simple cycle reports the same one.
   */
  private cycleThrough(key: IssueKey, component: Component): IssueKey[] {
    const known = component.cycles.get(key);
    if (known) return known;
    const paths = (component.paths ??= this.componentPaths(component));
    let cycle: IssueKey[];
    if (paths.only) {
      cycle = paths.only;
    } else if (this.blockersOf(key).has(key)) {
      cycle = [key, key];
    } else {
      const { root, towardsRoot, fromRoot } = paths;
      const walk: IssueKey[] = [];
      if (key === root) {
        // Any first step, then the shortest way back.
        const first = [...this.blockersOf(root).keys()]
          .filter((b) => component.members.has(b))
          .sort(compareKeys)[0]!;
        walk.push(root);
        for (
          let at: IssueKey | undefined = first;
          at !== root && at !== undefined;
          at = towardsRoot.get(at)
        ) {
          walk.push(at);
        }
      } else {
        for (let at: IssueKey | undefined = key; at !== root && at !== undefined; at = towardsRoot.get(at)) {
          walk.push(at);
        }
        const back: IssueKey[] = [];
        for (let at: IssueKey | undefined = key; at !== root && at !== undefined; at = fromRoot.get(at)) {
          back.push(at);
        }
        walk.push(root, ...back.reverse().slice(0, -1));
      }
      cycle = withoutLoops(walk);
      let start = 0;
      for (let i = 1; i < cycle.length; i++) if (compareKeys(cycle[i]!, cycle[start]!) < 0) start = i;
      cycle = [...cycle.slice(start), ...cycle.slice(0, start)];
      cycle.push(cycle[0]!);
    }
    component.cycles.set(key, cycle);
    return cycle;
  }

  private componentPaths(component: Component): ComponentPaths {
    const { members } = component;
    const root = [...members].sort(compareKeys)[0]!;
    const inside = (keys: Iterable<IssueKey>) => [...keys].filter((k) => members.has(k)).sort(compareKeys);

    let edgeCount = 0;
    for (const member of members) edgeCount += inside(this.blockersOf(member).keys()).length;
    const fromRoot = new Map<IssueKey, IssueKey>();
    const towardsRoot = new Map<IssueKey, IssueKey>();
    if (edgeCount === members.size) {
      // One simple cycle: follow it from the root.
      const only = [root];
      for (let at = inside(this.blockersOf(root).keys())[0]!; at !== root;) {
        only.push(at);
        at = inside(this.blockersOf(at).keys())[0]!;
      }
      only.push(root);
      return { root, towardsRoot, fromRoot, only };
    }
    for (const [tree, next] of [
      [fromRoot, (k: IssueKey) => this.blockersOf(k).keys()],
      [towardsRoot, (k: IssueKey) => this.dependentsOf(k)],
    ] as const) {
      const queue = [root];
      for (let i = 0; i < queue.length; i++) {
        for (const neighbour of inside(next(queue[i]!))) {
          if (neighbour === root || tree.has(neighbour)) continue;
          tree.set(neighbour, queue[i]!);
          queue.push(neighbour);
        }
      }
    }
    return { root, towardsRoot, fromRoot, only: null };
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

/** Orders `owner/repo#9` before `owner/repo#10`. */
export function compareKeys(a: IssueKey, b: IssueKey): number {
  const hashA = a.lastIndexOf("#");
  const hashB = b.lastIndexOf("#");
  const repoA = a.slice(0, hashA);
  const repoB = b.slice(0, hashB);
  if (repoA !== repoB) return repoA < repoB ? -1 : 1;
  const numberA = Number(a.slice(hashA + 1));
  const numberB = Number(b.slice(hashB + 1));
  if (numberA !== numberB && !Number.isNaN(numberA) && !Number.isNaN(numberB)) return numberA - numberB;
  return a < b ? -1 : a > b ? 1 : 0;
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

/** Cuts out any stretch of a closed walk that comes back to a node already on it, leaving a simple cycle. */
function withoutLoops(walk: readonly IssueKey[]): IssueKey[] {
  const kept: IssueKey[] = [];
  const at = new Map<IssueKey, number>();
  for (const key of walk) {
    const seen = at.get(key);
    if (seen !== undefined) {
      for (const dropped of kept.splice(seen + 1)) at.delete(dropped);
      continue;
    }
    at.set(key, kept.length);
    kept.push(key);
  }
  return kept;
}

function compareKeyLists(a: readonly IssueKey[], b: readonly IssueKey[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const order = compareKeys(a[i]!, b[i]!);
    if (order !== 0) return order;
  }
  return a.length - b.length;
}
