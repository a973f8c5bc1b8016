import { DEFAULT_PRIORITY, compareKeys, type IssueKey, type IssueNode, type Priority } from "./model.ts";

/**
 * Which ready task goes first: the most urgent priority, then the longest critical path (the work that
 * waits on it), then sub-issues of one parent in GitHub's order, then the oldest, then the key.
 */
export function compareReady(
  a: IssueNode,
  b: IssueNode,
  criticalPath: ReadonlyMap<IssueKey, number>,
): number {
  if (a.priority !== b.priority) return a.priority - b.priority;
  const pathA = criticalPath.get(a.key) ?? a.expectedMs;
  const pathB = criticalPath.get(b.key) ?? b.expectedMs;
  if (pathA !== pathB) return pathB - pathA;
  if (
    a.parent !== undefined &&
    a.parent === b.parent &&
    a.subOrder !== undefined &&
    b.subOrder !== undefined &&
    a.subOrder !== b.subOrder
  ) {
    return a.subOrder - b.subOrder;
  }
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  return compareKeys(a.key, b.key);
}

/**
 * Sorts ready tasks best-first with `compareReady`. Comparing sub-issue order only between siblings can
 * disagree with age (an older non-sibling between two siblings), which a sort cannot honour; so first each
 * parent's sub-issues take their group's creation times in sub-issue order, making the order consistent.
 */
export function orderReady(
  nodes: readonly IssueNode[],
  criticalPath: ReadonlyMap<IssueKey, number>,
): IssueNode[] {
  const siblings = new Map<IssueKey, IssueNode[]>();
  for (const node of nodes) {
    if (node.parent === undefined || node.subOrder === undefined) continue;
    const group = siblings.get(node.parent);
    if (group) group.push(node);
    else siblings.set(node.parent, [node]);
  }
  const createdAt = new Map<IssueKey, number>();
  for (const group of siblings.values()) {
    const times = group.map((node) => node.createdAt).sort((a, b) => a - b);
    group
      .slice()
      .sort((a, b) => a.subOrder! - b.subOrder!)
      .forEach((node, i) => createdAt.set(node.key, times[i]!));
  }
  const byKey = new Map(nodes.map((node) => [node.key, node]));
  return nodes
    .map((node) => ({ ...node, createdAt: createdAt.get(node.key) ?? node.createdAt }))
    .sort((a, b) => compareReady(a, b, criticalPath))
    .map((node) => byKey.get(node.key)!);
}

const NAMED: Record<string, Priority> = { critical: 0, high: 1, normal: 2, low: 3 };

/** `priority: critical|high|normal|low` or `P0`–`P3`, any case; the most urgent wins; normal by default. */
export function priorityFromLabels(labels: readonly string[]): Priority {
  let best: Priority | undefined;
  for (const label of labels) {
    const text = label.trim().toLowerCase();
    const named = /^priority\s*:\s*(critical|high|normal|low)$/.exec(text)?.[1];
    const numbered = /^p\s*([0-3])$/.exec(text)?.[1];
    const priority =
      named !== undefined
        ? NAMED[named]
        : numbered !== undefined
          ? (Number(numbered) as Priority)
          : undefined;
    if (priority !== undefined && (best === undefined || priority < best)) best = priority;
  }
  return best ?? DEFAULT_PRIORITY;
}
