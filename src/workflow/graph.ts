/**
 * The shape of a workflow's DAG: order, levels and cycles. Pure functions over step ids and their
 * dependencies, used by validation (before anything runs) and by the engine's plan.
 */
export interface DagShape {
  /** Steps in a topological order that keeps definition order among independent steps. */
  order: string[];
  /** Length of the longest dependency chain from a root (roots are level 0). */
  level: Map<string, number>;
  /** Number of levels: the longest chain, in steps. */
  depth: number;
  /** The largest number of steps on one level: how wide the DAG can run in parallel. */
  width: number;
}

/**
 * Returns every elementary cycle found by a depth-first search, each as the list of ids around it with
 * the first repeated at the end (`a -> b -> a`). One cycle per strongly connected group is enough to
 * tell an author what to break.
 */
export function findCycles(ids: readonly string[], deps: ReadonlyMap<string, readonly string[]>): string[][] {
  const state = new Map<string, 'visiting' | 'done'>();
  const position = new Map(ids.map((id, i) => [id, i]));
  const stack: string[] = [];
  const cycles: string[][] = [];
  const inReportedCycle = new Set<string>();

  // Iterative DFS: a 10,000-step chain must not overflow the call stack.
  for (const start of ids) {
    if (state.has(start)) continue;
    const frames: { id: string; next: number }[] = [{ id: start, next: 0 }];
    state.set(start, 'visiting');
    stack.push(start);
    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!;
      const children = deps.get(frame.id) ?? [];
      if (frame.next < children.length) {
        const child = children[frame.next++]!;
        if (!deps.has(child)) continue;
        const s = state.get(child);
        if (s === undefined) {
          state.set(child, 'visiting');
          stack.push(child);
          frames.push({ id: child, next: 0 });
        } else if (s === 'visiting' && !inReportedCycle.has(child)) {
          // Dependencies point backwards in time: reverse so the cycle reads in execution order, then
          // start it at the step defined first, so it reads the way the author wrote the steps.
          const cycle = stack.slice(stack.indexOf(child)).reverse();
          cycle.forEach((id) => inReportedCycle.add(id));
          const first = cycle.reduce((best, id, i) => (position.get(id)! < position.get(cycle[best]!)! ? i : best), 0);
          const rotated = [...cycle.slice(first), ...cycle.slice(0, first)];
          cycles.push([...rotated, rotated[0]!]);
        }
      } else {
        state.set(frame.id, 'done');
        stack.pop();
        frames.pop();
      }
    }
  }
  return cycles;
}

/** Topological order and levels. Assumes no cycles (check with findCycles first). */
export function dagShape(ids: readonly string[], deps: ReadonlyMap<string, readonly string[]>): DagShape {
  const dependents = new Map<string, string[]>(ids.map((id) => [id, []]));
  const remaining = new Map<string, number>();
  for (const id of ids) {
    const own = (deps.get(id) ?? []).filter((d) => dependents.has(d));
    remaining.set(id, own.length);
    for (const d of own) dependents.get(d)!.push(id);
  }
  const position = new Map(ids.map((id, i) => [id, i]));
  const level = new Map<string, number>();
  // Kahn's algorithm over a queue kept in definition order; ids are few enough that a sorted insert is fine.
  const ready = ids.filter((id) => remaining.get(id) === 0);
  const order: string[] = [];
  for (let i = 0; i < ready.length; i++) {
    const id = ready[i]!;
    order.push(id);
    const own = deps.get(id) ?? [];
    level.set(id, own.length === 0 ? 0 : Math.max(...own.map((d) => (level.get(d) ?? -1) + 1)));
    const released: string[] = [];
    for (const child of dependents.get(id)!) {
      const left = remaining.get(child)! - 1;
      remaining.set(child, left);
      if (left === 0) released.push(child);
    }
    released.sort((a, b) => position.get(a)! - position.get(b)!);
    ready.push(...released);
  }
  const perLevel = new Map<number, number>();
  for (const l of level.values()) perLevel.set(l, (perLevel.get(l) ?? 0) + 1);
  return {
    order,
    level,
    depth: perLevel.size,
    width: Math.max(0, ...perLevel.values()),
  };
}

/** All steps reachable by following dependencies from `id` (its ancestors), excluding itself. */
export function ancestors(id: string, deps: ReadonlyMap<string, readonly string[]>): Set<string> {
  const seen = new Set<string>();
  const todo = [...(deps.get(id) ?? [])];
  while (todo.length > 0) {
    const next = todo.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    todo.push(...(deps.get(next) ?? []));
  }
  return seen;
}
