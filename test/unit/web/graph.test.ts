import { describe, expect, it } from 'vitest';
import { DAGRE_MAX_STEPS, NODE_HEIGHT, NODE_WIDTH, layered, layoutGraph, stepsOf } from '../../../web/src/lib/graph.js';
import { isTerminal, statusColour } from '../../../web/src/lib/status.js';

/** The dashboard's DAG: steps and edges from a definition, placed by dagre; colours of states. */
describe('the dashboard graph', () => {
  const definition = {
    id: 'diamond',
    steps: [
      { id: 'a', step_type: 'data_processing', expression: '1' },
      { id: 'b', step_type: 'inference', depends_on: ['a'], model_requirements: { name: 'builtin/echo' } },
      // c depends on a only through its mapping: the edge is drawn as the engine infers it.
      { id: 'c', step_type: 'data_processing', input_mappings: { x: 'steps.a.output' } },
      { id: 'd', step_type: 'data_processing', depends_on: ['b', 'c', 'nowhere'], when: 'steps.b.output' },
    ],
  };

  it('reads the steps, with their types and models', () => {
    expect(stepsOf(definition).map((s) => [s.id, s.type, s.model ?? null])).toEqual([
      ['a', 'data_processing', null],
      ['b', 'inference', 'builtin/echo'],
      ['c', 'data_processing', null],
      ['d', 'data_processing', null],
    ]);
    expect(stepsOf({})).toEqual([]);
    expect(stepsOf({ steps: [null, 3, { id: 7 }, { id: 'ok' }] }).map((s) => s.id)).toEqual(['ok']);
  });

  it('draws one edge per dependency, declared or mapped, never to an unknown step or twice', () => {
    const { edges } = layoutGraph(definition);
    expect(edges.map((e) => e.id).sort()).toEqual(['a->b', 'a->c', 'b->d', 'c->d']);
  });

  it('places every step below the ones it depends on, and side by side ones apart', () => {
    const { nodes } = layoutGraph(definition);
    const at = new Map(nodes.map((n) => [n.id, n]));
    expect(nodes).toHaveLength(4);
    for (const [from, to] of [
      ['a', 'b'],
      ['a', 'c'],
      ['b', 'd'],
      ['c', 'd'],
    ] as const)
      expect(at.get(to)!.y).toBeGreaterThanOrEqual(at.get(from)!.y + NODE_HEIGHT);
    expect(at.get('b')!.y).toBe(at.get('c')!.y);
    expect(Math.abs(at.get('b')!.x - at.get('c')!.x)).toBeGreaterThan(100);
    for (const n of nodes) {
      expect(Number.isFinite(n.x)).toBe(true);
      expect(Number.isFinite(n.y)).toBe(true);
    }
  });

  /** A wide-and-deep DAG: `layers` ranks of `width` steps, each depending on two of the rank above. */
  const grid = (layers: number, width: number) => ({
    steps: Array.from({ length: layers * width }, (_, i) => {
      const [l, j] = [Math.floor(i / width), i % width];
      return {
        id: `s${l}_${j}`,
        step_type: 'data_processing',
        expression: '1',
        ...(l > 0 && { depends_on: [`s${l - 1}_${j}`, `s${l - 1}_${(j + 1) % width}`] }),
      };
    }),
  });

  it('lays out a graph too large for dagre in ranks, below every dependency, with no two steps overlapping', () => {
    const definition = grid(20, 50);
    expect(definition.steps.length).toBeGreaterThan(DAGRE_MAX_STEPS);
    const { nodes, edges } = layoutGraph(definition);
    expect(nodes).toHaveLength(1000);
    expect(edges).toHaveLength(19 * 50 * 2);
    const at = new Map(nodes.map((n) => [n.id, n]));
    for (const e of edges) expect(at.get(e.target)!.y).toBeGreaterThanOrEqual(at.get(e.source)!.y + NODE_HEIGHT);
    const byRow = new Map<number, number[]>();
    for (const n of nodes) byRow.set(n.y, [...(byRow.get(n.y) ?? []), n.x]);
    expect(byRow.size).toBe(20);
    for (const xs of byRow.values()) {
      xs.sort((a, b) => a - b);
      for (let i = 1; i < xs.length; i++) expect(xs[i]! - xs[i - 1]!).toBeGreaterThanOrEqual(NODE_WIDTH);
    }
  });

  it('ranks a step by its deepest dependency, and still places the steps of a cycle', () => {
    const steps = ['a', 'b', 'c', 'x', 'y'].map((id) => ({ id, dependsOn: [], type: 'step' }));
    const edge = (source: string, target: string) => ({ id: `${source}->${target}`, source, target });
    const centres = layered(steps, [edge('a', 'b'), edge('b', 'c'), edge('a', 'c'), edge('x', 'y'), edge('y', 'x')]);
    const y = (id: string) => centres.get(id)!.y;
    expect(y('a')).toBeLessThan(y('b'));
    expect(y('b')).toBeLessThan(y('c'));
    expect(centres.size).toBe(5);
    expect(y('x')).not.toBe(y('y'));
  });

  it('gives each state its colour, and knows which execution states are final', () => {
    expect(statusColour('completed')).toBe('var(--ok)');
    expect(statusColour('failed')).toBe('var(--bad)');
    expect(statusColour('timed_out')).toBe('var(--bad)');
    expect(statusColour('running')).toBe('var(--running)');
    expect(statusColour('queued')).toBe('var(--queued)');
    expect(statusColour('skipped')).toBe('var(--muted)');
    expect(statusColour('pending')).toBe('var(--pending)');
    expect(statusColour('something new')).toBe('var(--pending)');
    expect(isTerminal('running')).toBe(false);
    for (const s of ['completed', 'failed', 'cancelled', 'timed_out', 'budget_exceeded'])
      expect(isTerminal(s)).toBe(true);
  });
});
