import { compareKeys, type EdgeSource, type IssueKey } from "./model.ts";
import { cyclicComponents } from "./scc.ts";

/** What the cycle index reads of the graph. */
export interface Adjacency {
  blockersOf(key: IssueKey): ReadonlyMap<IssueKey, EdgeSource>;
  dependentsOf(key: IssueKey): ReadonlySet<IssueKey>;
  /** Present and not done: the nodes cycles are made of. */
  active(key: IssueKey): boolean;
}

/** The nodes that lie on a cycle together (one strongly connected component). */
export interface Component {
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

/**
 * The graph's cycles: which nodes lie on one (strongly connected components), kept current as edges and
 * nodes change, and the cycle each member reports. A change can split only the component it touches and
 * can merge components only through the node it touches, so nothing else is searched.
 */
export class CycleIndex {
  /** Only nodes that lie on a cycle have an entry. */
  readonly #components = new Map<IssueKey, Component>();
  private readonly graph: Adjacency;

  constructor(graph: Adjacency) {
    this.graph = graph;
  }

  of(key: IssueKey): Component | undefined {
    return this.#components.get(key);
  }

  /** Every component, once. */
  all(): Set<Component> {
    return new Set(this.#components.values());
  }

  /** Finds what is left of a component's cycles after an edge or a member went. */
  split(component: Component, affected: Set<IssueKey>): void {
    for (const member of component.members) {
      this.#components.delete(member);
      affected.add(member);
    }
    const rest = new Set([...component.members].filter((member) => this.graph.active(member)));
    for (const members of cyclicComponents(
      rest,
      (member) => this.graph.blockersOf(member).keys(),
      (member) => rest.has(member),
    )) {
      this.add(members);
    }
  }

  add(members: Iterable<IssueKey>): Set<IssueKey> {
    const component: Component = { members: new Set(members), cycles: new Map() };
    for (const member of component.members) this.#components.set(member, component);
    return component.members;
  }

  /**
   * Whether one of `key`'s blockers `from` leads back to `key`: search forward from them and backward
   * from `key`'s dependents, growing the smaller side, until the two meet (a cycle) or one side runs out
   * (none). In a DAG one side is usually small, so this rarely walks far.
   */
  closesCycle(key: IssueKey, from: readonly IssueKey[]): boolean {
    const forward = new Set<IssueKey>();
    const backward = new Set<IssueKey>();
    const forwardQueue: IssueKey[] = [];
    const backwardQueue: IssueKey[] = [];
    const meetsForward = (next: IssueKey): boolean => {
      if (forward.has(next) || !this.graph.active(next)) return false;
      if (next === key || backward.has(next)) return true;
      forward.add(next);
      forwardQueue.push(next);
      return false;
    };
    const meetsBackward = (next: IssueKey): boolean => {
      if (backward.has(next) || !this.graph.active(next)) return false;
      if (next === key || forward.has(next)) return true;
      backward.add(next);
      backwardQueue.push(next);
      return false;
    };
    for (const blocker of from) if (meetsForward(blocker)) return true;
    for (const dependent of this.graph.dependentsOf(key)) if (meetsBackward(dependent)) return true;
    let f = 0;
    let b = 0;
    while (f < forwardQueue.length && b < backwardQueue.length) {
      if (forward.size <= backward.size) {
        for (const next of this.graph.blockersOf(forwardQueue[f++]!).keys())
          if (meetsForward(next)) return true;
      } else {
        for (const next of this.graph.dependentsOf(backwardQueue[b++]!)) if (meetsBackward(next)) return true;
      }
    }
    return false;
  }

  /** The component of `key`, which lies on a cycle: what it reaches that also reaches it. */
  membersThrough(key: IssueKey): Set<IssueKey> {
    const reached = new Set<IssueKey>([key]);
    const queue = [key];
    for (let i = 0; i < queue.length; i++) {
      for (const next of this.graph.blockersOf(queue[i]!).keys()) {
        if (!reached.has(next) && this.graph.active(next)) {
          reached.add(next);
          queue.push(next);
        }
      }
    }
    const members = new Set<IssueKey>([key]);
    const back = [key];
    for (let i = 0; i < back.length; i++) {
      for (const next of this.graph.dependentsOf(back[i]!)) {
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
  cycleThrough(key: IssueKey, component: Component): IssueKey[] {
    const known = component.cycles.get(key);
    if (known) return known;
    const paths = (component.paths ??= this.#componentPaths(component));
    let cycle: IssueKey[];
    if (paths.only) {
      cycle = paths.only;
    } else if (this.graph.blockersOf(key).has(key)) {
      cycle = [key, key];
    } else {
      const { root, towardsRoot, fromRoot } = paths;
      const walk: IssueKey[] = [];
      if (key === root) {
        // Any first step, then the shortest way back.
        const first = [...this.graph.blockersOf(root).keys()]
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

  #componentPaths(component: Component): ComponentPaths {
    const { members } = component;
    const root = [...members].sort(compareKeys)[0]!;
    const inside = (keys: Iterable<IssueKey>) => [...keys].filter((k) => members.has(k)).sort(compareKeys);

    let edgeCount = 0;
    for (const member of members) edgeCount += inside(this.graph.blockersOf(member).keys()).length;
    const fromRoot = new Map<IssueKey, IssueKey>();
    const towardsRoot = new Map<IssueKey, IssueKey>();
    if (edgeCount === members.size) {
      // One simple cycle: follow it from the root.
      const only = [root];
      for (let at = inside(this.graph.blockersOf(root).keys())[0]!; at !== root;) {
        only.push(at);
        at = inside(this.graph.blockersOf(at).keys())[0]!;
      }
      only.push(root);
      return { root, towardsRoot, fromRoot, only };
    }
    for (const [tree, next] of [
      [fromRoot, (k: IssueKey) => this.graph.blockersOf(k).keys()],
      [towardsRoot, (k: IssueKey) => this.graph.dependentsOf(k)],
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

export function compareKeyLists(a: readonly IssueKey[], b: readonly IssueKey[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const order = compareKeys(a[i]!, b[i]!);
    if (order !== 0) return order;
  }
  return a.length - b.length;
}
