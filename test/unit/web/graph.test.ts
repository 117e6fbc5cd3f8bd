import { describe, expect, it } from 'vitest';
import { NODE_HEIGHT, layoutGraph, stepsOf } from '../../../web/src/lib/graph.js';
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
