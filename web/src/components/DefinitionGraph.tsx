import { useEffect, useMemo } from 'react';
import type { KeyboardEvent } from 'react';
import { Background, Controls, ReactFlow, useNodesState } from '@xyflow/react';
import type { Edge, Node, NodeMouseHandler } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { NODE_HEIGHT, NODE_WIDTH, layoutGraph } from '../lib/graph';
import type { LaidOutNode, StepMark } from '../lib/graph';
import './definition-graph.css';

const TONE: Record<NonNullable<StepMark['tone']>, string> = {
  bad: 'var(--bad)',
  warn: 'var(--queued)',
  ok: 'var(--ok)',
};

/**
 * A workflow definition's steps as a graph, laid out by dagre (lib/graph.ts), with an optional mark per
 * step (a state, a count of problems) drawn on its node. Static: nothing is dragged or connected. A node
 * opens its step on a click, or on Enter or Space while it has the focus (Tab reaches every node); edges
 * into the `flowing` steps are animated (a running step).
 */
export function DefinitionGraph({
  definition,
  marks,
  flowing,
  selected,
  onSelect,
  label = "the workflow's steps",
}: {
  definition: Record<string, unknown>;
  marks?: ReadonlyMap<string, StepMark>;
  flowing?: ReadonlySet<string>;
  selected?: string | undefined;
  onSelect?: (id: string) => void;
  label?: string;
}) {
  const laid = useMemo(() => layoutGraph(definition), [definition]);
  // Another shape is another drawing: a fresh React Flow measures and fits it from scratch, where
  // swapping the nodes of a mounted one would leave them unmeasured (hidden) for a while.
  const shape = useMemo(
    () => JSON.stringify([laid.nodes.map((n) => [n.id, n.x, n.y, n.step.type]), laid.edges.map((e) => e.id)]),
    [laid],
  );
  if (laid.nodes.length === 0) return <p className="state">The definition has no steps to draw.</p>;
  return (
    <Drawing
      key={shape}
      laid={laid}
      marks={marks}
      flowing={flowing}
      selected={selected}
      {...(onSelect && { onSelect })}
      label={label}
    />
  );
}

function Drawing({
  laid,
  marks,
  flowing,
  selected,
  onSelect,
  label,
}: {
  laid: { nodes: LaidOutNode[]; edges: Edge[] };
  marks: ReadonlyMap<string, StepMark> | undefined;
  flowing: ReadonlySet<string> | undefined;
  selected: string | undefined;
  onSelect?: (id: string) => void;
  label: string;
}) {
  const decorate = (node: Node, step: LaidOutNode['step']): Node => {
    const mark = marks?.get(node.id);
    const colour = mark?.colour ?? (mark?.tone ? TONE[mark.tone] : undefined);
    const title = [`${node.id} (${step.type}${step.model ? `, ${step.model}` : ''})`, mark?.title]
      .filter(Boolean)
      .join('\n');
    return {
      ...node,
      data: {
        label: (
          <span className="def-node-label">
            <strong>{node.id}</strong>
            <span className={mark?.note ? 'def-node-note' : 'def-node-type'}>
              {mark?.note ?? step.model ?? step.type}
            </span>
          </span>
        ),
      },
      className: ['dag-node', 'def-node', mark?.tone && `marked-${mark.tone}`, selected === node.id && 'selected']
        .filter(Boolean)
        .join(' '),
      style: colour ? { borderColor: colour, boxShadow: `inset 6px 0 0 ${colour}` } : {},
      ariaLabel: `step ${title.replaceAll('\n', '; ')}`,
      // data-* attributes name the node for tests and styles; React Flow's type lists only the named ones.
      domAttributes: { title, ...({ 'data-step': node.id, 'data-mark': mark?.tone ?? '' } as Record<string, string>) },
    };
  };
  const steps = new Map(laid.nodes.map((n) => [n.id, n.step]));
  const [nodes, setNodes, onNodesChange] = useNodesState<Node>(
    laid.nodes.map((n) =>
      decorate(
        {
          id: n.id,
          position: { x: n.x, y: n.y },
          width: NODE_WIDTH,
          height: NODE_HEIGHT,
          data: {},
          connectable: false,
          draggable: false,
        },
        n.step,
      ),
    ),
  );
  // Marks change without the shape changing (a state, new problems): the nodes React Flow measured are
  // kept and only redecorated.
  const look = JSON.stringify([[...(marks ?? new Map<string, StepMark>())], selected ?? '']);
  useEffect(() => {
    setNodes((current) => current.map((node) => decorate(node, steps.get(node.id)!)));
    // `look` sums up everything decorate reads besides the shape, which keys this component.
  }, [look, setNodes]);
  const edges = useMemo(
    () => (flowing?.size ? laid.edges.map((e) => ({ ...e, animated: flowing.has(e.target) })) : laid.edges),
    [laid.edges, flowing],
  );
  const click: NodeMouseHandler = (_event, node) => onSelect?.(node.id);
  // React Flow selects a focused node on Enter but tells no one: the key is read here as it bubbles up.
  const key = (event: KeyboardEvent<HTMLDivElement>) => {
    if (!onSelect || (event.key !== 'Enter' && event.key !== ' ')) return;
    const id = (event.target as HTMLElement).closest<HTMLElement>('.react-flow__node')?.dataset['id'];
    if (id === undefined) return;
    event.preventDefault();
    onSelect(id);
  };
  return (
    <div className="dag" role="figure" aria-label={label} onKeyDown={key}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        onNodesChange={onNodesChange}
        onNodeClick={click}
        fitView
        // Only what is in view is in the DOM: a 1,000-step graph keeps about 80 nodes mounted.
        onlyRenderVisibleElements
        fitViewOptions={{ maxZoom: 1.2 }}
        nodesConnectable={false}
        proOptions={{ hideAttribution: true }}
        colorMode="system"
      >
        <Background />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}
