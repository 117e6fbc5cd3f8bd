import { describe, expect, it } from 'vitest';
import { ancestors, dagShape, findCycles } from '../../../src/workflow/graph.js';

/** Builds the dependency map from `id: [deps]` entries; ids are listed in the order written. */
function dag(spec: Record<string, string[]>): { ids: string[]; deps: Map<string, string[]> } {
  return { ids: Object.keys(spec), deps: new Map(Object.entries(spec)) };
}

function levels(shape: { level: Map<string, number> }): Record<string, number> {
  return Object.fromEntries(shape.level);
}

describe('findCycles', () => {
  it('finds none in a DAG', () => {
    const { ids, deps } = dag({ a: [], b: ['a'], c: ['a'], d: ['b', 'c'] });
    expect(findCycles(ids, deps)).toEqual([]);
  });

  it('returns a cycle in execution order with the first id repeated at the end', () => {
    // b depends on a, c on b, a on c: a runs before b, b before c, c before a.
    const { ids, deps } = dag({ a: ['c'], b: ['a'], c: ['b'] });
    expect(findCycles(ids, deps)).toEqual([['a', 'b', 'c', 'a']]);
  });

  it('starts a cycle at the step defined first', () => {
    // x depends on z, y on x, z on y: read from z (defined first), z -> x -> y -> z.
    const { ids, deps } = dag({ z: ['y'], y: ['x'], x: ['z'] });
    expect(findCycles(ids, deps)).toEqual([['z', 'x', 'y', 'z']]);
  });

  it('finds a self-loop', () => {
    const { ids, deps } = dag({ a: ['a'], b: [] });
    expect(findCycles(ids, deps)).toEqual([['a', 'a']]);
  });

  it('reports independent cycles separately', () => {
    const { ids, deps } = dag({ a: ['b'], b: ['a'], c: ['d'], d: ['c'], e: ['a', 'c'] });
    expect(findCycles(ids, deps)).toEqual([
      ['a', 'b', 'a'],
      ['c', 'd', 'c'],
    ]);
  });

  it('reports one cycle for a strongly connected group with several cycles', () => {
    const { ids, deps } = dag({ a: ['b'], b: ['a', 'c'], c: ['b'] });
    expect(findCycles(ids, deps)).toHaveLength(1);
  });

  it('ignores dependencies on ids that are not in the map', () => {
    expect(findCycles(['a'], new Map([['a', ['ghost']]]))).toEqual([]);
  });

  it('reads each cycle so that every id depends on the one before it', () => {
    const { ids, deps } = dag({ p: ['s'], q: ['p'], r: ['q'], s: ['r'], t: ['s'] });
    const [cycle] = findCycles(ids, deps);
    expect(cycle).toHaveLength(5);
    for (let i = 0; i + 1 < cycle!.length; i++) expect(deps.get(cycle![i + 1]!)).toContain(cycle![i]);
  });
});

describe('dagShape', () => {
  it('keeps definition order among independent steps', () => {
    const { ids, deps } = dag({ c: [], a: [], b: [] });
    expect(dagShape(ids, deps).order).toEqual(['c', 'a', 'b']);
  });

  it('orders steps after their dependencies, released in definition order', () => {
    const { ids, deps } = dag({ z: ['y'], a: [], y: ['a'], x: ['a'], b: [] });
    const shape = dagShape(ids, deps);
    expect(shape.order).toEqual(['a', 'b', 'y', 'x', 'z']);
    for (const id of ids) {
      for (const dep of deps.get(id)!) expect(shape.order.indexOf(dep)).toBeLessThan(shape.order.indexOf(id));
    }
  });

  it('gives a linear chain one step per level', () => {
    const { ids, deps } = dag({ a: [], b: ['a'], c: ['b'], d: ['c'] });
    const shape = dagShape(ids, deps);
    expect(levels(shape)).toEqual({ a: 0, b: 1, c: 2, d: 3 });
    expect([shape.depth, shape.width]).toEqual([4, 1]);
  });

  it('gives a diamond depth 3 and width 2', () => {
    const { ids, deps } = dag({ a: [], b: ['a'], c: ['a'], d: ['b', 'c'] });
    const shape = dagShape(ids, deps);
    expect(levels(shape)).toEqual({ a: 0, b: 1, c: 1, d: 2 });
    expect([shape.depth, shape.width]).toEqual([3, 2]);
  });

  it('gives a fan-out depth 2 and width the number of branches', () => {
    const { ids, deps } = dag({ root: [], b1: ['root'], b2: ['root'], b3: ['root'] });
    const shape = dagShape(ids, deps);
    expect([shape.depth, shape.width]).toEqual([2, 3]);
  });

  it('puts a step one level below its deepest dependency', () => {
    const { ids, deps } = dag({ a: [], b: ['a'], c: ['a', 'b'], d: [] });
    const shape = dagShape(ids, deps);
    expect(levels(shape)).toEqual({ a: 0, b: 1, c: 2, d: 0 });
    expect([shape.depth, shape.width]).toEqual([3, 2]);
  });

  it('ignores dependencies on ids it was not given', () => {
    const shape = dagShape(
      ['a', 'b'],
      new Map([
        ['a', ['ghost']],
        ['b', ['a']],
      ]),
    );
    expect(shape.order).toEqual(['a', 'b']);
    expect(levels(shape)).toEqual({ a: 0, b: 1 });
  });

  it('describes an empty graph', () => {
    const shape = dagShape([], new Map());
    expect([shape.order, shape.depth, shape.width]).toEqual([[], 0, 0]);
  });
});

describe('ancestors', () => {
  const { deps } = dag({ a: [], b: ['a'], c: ['a'], d: ['b', 'c'], e: [] });

  it('returns everything upstream, without the step itself', () => {
    expect([...ancestors('d', deps)].sort()).toEqual(['a', 'b', 'c']);
    expect([...ancestors('b', deps)]).toEqual(['a']);
  });

  it('returns nothing for a root or an unknown id', () => {
    expect(ancestors('a', deps).size).toBe(0);
    expect(ancestors('e', deps).size).toBe(0);
    expect(ancestors('ghost', deps).size).toBe(0);
  });
});

describe('a 10,000-step chain', () => {
  const n = 10_000;
  const ids = Array.from({ length: n }, (_, i) => `s${i}`);
  // s0 depends on s1, s1 on s2, ...: a depth-first search from s0 goes all the way down.
  const deps = new Map(ids.map((id, i) => [id, i + 1 < n ? [`s${i + 1}`] : []]));

  it('finds no cycle without overflowing the stack', () => {
    expect(findCycles(ids, deps)).toEqual([]);
  });

  it('finds the one cycle when the chain is closed', () => {
    const closed = new Map(deps);
    closed.set(`s${n - 1}`, ['s0']);
    const cycles = findCycles(ids, closed);
    expect(cycles).toHaveLength(1);
    expect(cycles[0]).toHaveLength(n + 1);
    expect(cycles[0]![0]).toBe(cycles[0]![n]);
  });

  it('orders and measures it', () => {
    const shape = dagShape(ids, deps);
    expect(shape.order[0]).toBe(`s${n - 1}`);
    expect(shape.order[n - 1]).toBe('s0');
    expect([shape.depth, shape.width]).toEqual([n, 1]);
    expect(shape.level.get('s0')).toBe(n - 1);
  });

  it('finds every ancestor', () => {
    expect(ancestors('s0', deps).size).toBe(n - 1);
  });
});
