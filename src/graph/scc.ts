/**
 * Tarjan's strongly connected components over the nodes `within` accepts, without recursion so a long
 * chain of 10,000 tasks cannot overflow the stack. Returns only the components that hold a cycle: two or
 * more nodes, or one node with an edge to itself.
 */
export function cyclicComponents<K>(
  starts: Iterable<K>,
  successors: (node: K) => Iterable<K>,
  within: (node: K) => boolean,
): K[][] {
  const index = new Map<K, number>();
  const lowlink = new Map<K, number>();
  const onStack = new Set<K>();
  const stack: K[] = [];
  const found: K[][] = [];
  let next = 0;

  interface Frame {
    node: K;
    children: Iterator<K>;
    selfLoop: boolean;
  }

  for (const start of starts) {
    if (index.has(start) || !within(start)) continue;
    const frames: Frame[] = [];
    const enter = (node: K): void => {
      index.set(node, next);
      lowlink.set(node, next);
      next += 1;
      stack.push(node);
      onStack.add(node);
      frames.push({ node, children: successors(node)[Symbol.iterator](), selfLoop: false });
    };
    enter(start);

    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!;
      const step = frame.children.next();
      if (!step.done) {
        const child = step.value;
        if (!within(child)) continue;
        if (child === frame.node) frame.selfLoop = true;
        if (!index.has(child)) {
          enter(child);
        } else if (onStack.has(child)) {
          lowlink.set(frame.node, Math.min(lowlink.get(frame.node)!, index.get(child)!));
        }
        continue;
      }

      frames.pop();
      const parent = frames[frames.length - 1];
      if (parent) lowlink.set(parent.node, Math.min(lowlink.get(parent.node)!, lowlink.get(frame.node)!));
      if (lowlink.get(frame.node) !== index.get(frame.node)) continue;

      const component: K[] = [];
      let member: K | undefined;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== frame.node);
      if (component.length > 1 || frame.selfLoop) found.push(component);
    }
  }
  return found;
}
