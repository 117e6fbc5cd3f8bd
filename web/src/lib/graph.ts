import { Graph, layout } from '@dagrejs/dagre';

/** One step of a workflow definition, as much of it as the graph needs. */
export interface GraphStep {
  id: string;
  dependsOn: string[];
  type: string;
  model?: string;
}

export interface LaidOutNode {
  id: string;
  x: number;
  y: number;
  step: GraphStep;
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
}

/**
 * What a drawing of a definition says about one step besides its id and type: a state, a count of
 * problems. `colour` outlines the node; `tone` picks a colour from the palette when no colour is given.
 */
export interface StepMark {
  note?: string;
  colour?: string;
  tone?: 'bad' | 'warn' | 'ok';
  /** The hover text, also read out with the node. */
  title?: string;
}

export const NODE_WIDTH = 180;
export const NODE_HEIGHT = 56;

/**
 * The steps of a definition as the API returns it (the published JSON form). Read defensively: the page
 * draws whatever the server sent, and a malformed step is left out rather than breaking the view.
 */
export function stepsOf(definition: Record<string, unknown>): GraphStep[] {
  const steps = definition['steps'];
  if (!Array.isArray(steps)) return [];
  const out: GraphStep[] = [];
  for (const raw of steps as unknown[]) {
    if (typeof raw !== 'object' || raw === null) continue;
    const step = raw as Record<string, unknown>;
    if (typeof step['id'] !== 'string') continue;
    const deps = Array.isArray(step['depends_on'])
      ? (step['depends_on'] as unknown[]).filter((d): d is string => typeof d === 'string')
      : [];
    const requirements = step['model_requirements'];
    const model =
      typeof requirements === 'object' && requirements !== null
        ? (requirements as Record<string, unknown>)['name']
        : undefined;
    out.push({
      id: step['id'],
      dependsOn: deps,
      type: typeof step['step_type'] === 'string' ? step['step_type'] : 'step',
      ...(typeof model === 'string' && { model }),
    });
  }
  return out;
}

/**
 * Implicit dependencies: a step whose mappings read `steps.X` depends on X even without `depends_on`
 * (the engine infers them the same way), so the drawing shows the order the engine will use.
 */
export function referencedSteps(definition: Record<string, unknown>, ids: ReadonlySet<string>): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const steps = definition['steps'];
  if (!Array.isArray(steps)) return found;
  for (const raw of steps as unknown[]) {
    if (typeof raw !== 'object' || raw === null) continue;
    const step = raw as Record<string, unknown>;
    if (typeof step['id'] !== 'string') continue;
    const text = JSON.stringify([step['input_mappings'] ?? null, step['when'] ?? null]);
    const refs = new Set<string>();
    for (const match of text.matchAll(/steps\.([A-Za-z_][A-Za-z0-9_-]*)/g)) {
      const id = match[1]!;
      if (ids.has(id) && id !== step['id']) refs.add(id);
    }
    found.set(step['id'], [...refs]);
  }
  return found;
}

/**
 * Above this many steps dagre is too slow to wait for: its ranking (network simplex) and crossing
 * reduction took 20 s for 1,000 steps in a 20 × 50 DAG, and still ~0.5 s for 200 (bench/dashboard-scale.ts).
 * Larger graphs are layered here instead, in milliseconds, at the price of a plainer drawing.
 */
export const DAGRE_MAX_STEPS = 100;
const NODE_SEP = 30;
const RANK_SEP = 36;
const MARGIN = 10;

/**
 * Nodes placed top to bottom (by dagre up to DAGRE_MAX_STEPS, by `layered` above), and one edge per
 * dependency. The time it took goes to the page's performance timeline as `verity:layout`, so a benchmark
 * in the browser can read it.
 */
export function layoutGraph(definition: Record<string, unknown>): { nodes: LaidOutNode[]; edges: GraphEdge[] } {
  const started = performance.now();
  const steps = stepsOf(definition);
  const ids = new Set(steps.map((s) => s.id));
  const implicit = referencedSteps(definition, ids);
  const edges: GraphEdge[] = [];
  const seen = new Set<string>();
  for (const step of steps) {
    for (const dep of [...step.dependsOn, ...(implicit.get(step.id) ?? [])]) {
      const id = `${dep}->${step.id}`;
      if (!ids.has(dep) || dep === step.id || seen.has(id)) continue;
      seen.add(id);
      edges.push({ id, source: dep, target: step.id });
    }
  }
  const centres = steps.length > DAGRE_MAX_STEPS ? layered(steps, edges) : withDagre(steps, edges);
  const nodes = steps.map((step) => {
    const placed = centres.get(step.id)!;
    // Both give centres; React Flow places nodes by their top-left corner.
    return { id: step.id, x: placed.x - NODE_WIDTH / 2, y: placed.y - NODE_HEIGHT / 2, step };
  });
  performance.measure?.('verity:layout', { start: started, detail: { steps: steps.length } });
  return { nodes, edges };
}

type Centres = Map<string, { x: number; y: number }>;

function withDagre(steps: GraphStep[], edges: GraphEdge[]): Centres {
  const graph = new Graph();
  graph.setGraph({ rankdir: 'TB', nodesep: NODE_SEP, ranksep: RANK_SEP, marginx: MARGIN, marginy: MARGIN });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const step of steps) graph.setNode(step.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const edge of edges) graph.setEdge(edge.source, edge.target);
  layout(graph);
  return new Map(steps.map((s) => [s.id, graph.node(s.id) as { x: number; y: number }]));
}

/** Sweeps of the barycenter heuristic: each one costs a pass over the edges, and more than a few rarely help. */
const SWEEPS = 4;

/**
 * A plain layered drawing in linear time: each step one rank below its deepest dependency (as the engine
 * orders them), the steps of a rank reordered by a few barycenter sweeps so edges cross less, each rank
 * centred. A cycle, which a published workflow cannot have, still gets a place instead of a hang.
 */
export function layered(steps: readonly GraphStep[], edges: readonly GraphEdge[]): Centres {
  const parents = new Map<string, string[]>(steps.map((s) => [s.id, []]));
  const children = new Map<string, string[]>(steps.map((s) => [s.id, []]));
  for (const e of edges) {
    parents.get(e.target)!.push(e.source);
    children.get(e.source)!.push(e.target);
  }
  // Kahn's order: a step's rank is known once all its dependencies have theirs.
  const rank = new Map<string, number>();
  const waiting = new Map(steps.map((s) => [s.id, parents.get(s.id)!.length]));
  const ready = steps.filter((s) => waiting.get(s.id) === 0).map((s) => s.id);
  for (let i = 0; i < ready.length; i++) {
    const id = ready[i]!;
    rank.set(id, Math.max(-1, ...parents.get(id)!.map((p) => rank.get(p)!)) + 1);
    for (const child of children.get(id)!) {
      const left = waiting.get(child)! - 1;
      waiting.set(child, left);
      if (left === 0) ready.push(child);
    }
  }
  let deepest = Math.max(-1, ...rank.values());
  for (const s of steps) if (!rank.has(s.id)) rank.set(s.id, ++deepest);

  const layers: string[][] = [];
  for (const s of steps) (layers[rank.get(s.id)!] ??= []).push(s.id);
  // A step's place in its layer, centred on 0 so layers of different widths compare.
  const place = new Map<string, number>();
  const index = (layer: string[]) => layer.forEach((id, i) => place.set(id, i - (layer.length - 1) / 2));
  layers.forEach(index);
  const reorder = (layer: string[], neighbours: Map<string, string[]>) => {
    const key = new Map<string, number>();
    for (const id of layer) {
      const ns = neighbours.get(id)!;
      key.set(id, ns.length === 0 ? place.get(id)! : ns.reduce((sum, n) => sum + place.get(n)!, 0) / ns.length);
    }
    layer.sort((a, b) => key.get(a)! - key.get(b)!);
    index(layer);
  };
  for (let sweep = 0; sweep < SWEEPS; sweep++) {
    if (sweep % 2 === 0) for (let r = 1; r < layers.length; r++) reorder(layers[r]!, parents);
    else for (let r = layers.length - 2; r >= 0; r--) reorder(layers[r]!, children);
  }

  const widest = Math.max(...layers.map((l) => l.length));
  const centres: Centres = new Map();
  layers.forEach((layer, r) =>
    layer.forEach((id) =>
      centres.set(id, {
        x: MARGIN + NODE_WIDTH / 2 + (place.get(id)! + (widest - 1) / 2) * (NODE_WIDTH + NODE_SEP),
        y: MARGIN + NODE_HEIGHT / 2 + r * (NODE_HEIGHT + RANK_SEP),
      }),
    ),
  );
  return centres;
}
