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

/** Nodes placed top to bottom by dagre, and one edge per dependency. */
export function layoutGraph(definition: Record<string, unknown>): { nodes: LaidOutNode[]; edges: GraphEdge[] } {
  const steps = stepsOf(definition);
  const ids = new Set(steps.map((s) => s.id));
  const implicit = referencedSteps(definition, ids);
  const graph = new Graph();
  graph.setGraph({ rankdir: 'TB', nodesep: 30, ranksep: 36, marginx: 10, marginy: 10 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const step of steps) graph.setNode(step.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  const edges: GraphEdge[] = [];
  const seen = new Set<string>();
  for (const step of steps) {
    for (const dep of [...step.dependsOn, ...(implicit.get(step.id) ?? [])]) {
      const id = `${dep}->${step.id}`;
      if (!ids.has(dep) || seen.has(id)) continue;
      seen.add(id);
      graph.setEdge(dep, step.id);
      edges.push({ id, source: dep, target: step.id });
    }
  }
  layout(graph);
  const nodes = steps.map((step) => {
    const placed = graph.node(step.id) as { x: number; y: number };
    // dagre gives centres; React Flow places nodes by their top-left corner.
    return { id: step.id, x: placed.x - NODE_WIDTH / 2, y: placed.y - NODE_HEIGHT / 2, step };
  });
  return { nodes, edges };
}
