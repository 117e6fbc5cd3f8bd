import { useEffect, useMemo } from 'react';
import type { KeyboardEvent } from 'react';
import { Background, Controls, ReactFlow, useNodesState } from '@xyflow/react';
import type { Edge, Node, NodeMouseHandler } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import type { StepSummary } from 'verity/sdk';
import { NODE_HEIGHT, NODE_WIDTH, layoutGraph } from '../lib/graph';
import { statusColour } from '../lib/status';

/**
 * The workflow's steps as a graph, coloured by status. A node opens its step's panel on a click, or on
 * Enter or Space while it has the focus (Tab reaches every node).
 */
export function ExecutionGraph({
  definition,
  steps,
  selected,
  onSelect,
}: {
  definition: Record<string, unknown>;
  steps: StepSummary[];
  selected: string | undefined;
  onSelect: (id: string) => void;
}) {
  const laid = useMemo(() => layoutGraph(definition), [definition]);
  const status = new Map(steps.map((s) => [s.id, s.status]));
  const decorate = (node: Node): Node => {
    const state = status.get(node.id) ?? 'pending';
    return {
      ...node,
      data: { label: `${node.id} · ${state}` },
      className: `dag-node${selected === node.id ? ' selected' : ''}`,
      style: { borderColor: statusColour(state), boxShadow: `inset 6px 0 0 ${statusColour(state)}` },
      ariaLabel: `step ${node.id}: ${state}`,
    };
  };
  // React Flow's own node state: it writes each node's measured size back (through onNodesChange), and an
  // update keeps it by spreading the node, so a state change never sends a node back to unmeasured (which
  // hides the node and its edges until the browser happens to resize it).
  const [nodes, setNodes, onNodesChange] = useNodesState<Node>(
    laid.nodes.map((n) =>
      decorate({
        id: n.id,
        position: { x: n.x, y: n.y },
        // The size dagre placed the node with.
        width: NODE_WIDTH,
        height: NODE_HEIGHT,
        data: {},
        connectable: false,
        draggable: false,
      }),
    ),
  );
  const look = steps.map((s) => `${s.id}=${s.status}`).join(',') + `|${selected ?? ''}`;
  useEffect(() => {
    setNodes((current) => current.map(decorate));
    // `look` sums up everything decorate reads.
  }, [look, setNodes]);
  const edges: Edge[] = laid.edges.map((e) => ({ ...e, animated: status.get(e.target) === 'running' }));
  const click: NodeMouseHandler = (_event, node) => onSelect(node.id);
  // React Flow selects a focused node on Enter but tells no one: the key is read here as it bubbles up.
  const key = (event: KeyboardEvent<HTMLDivElement>) => {
    if (event.key !== 'Enter' && event.key !== ' ') return;
    const node = (event.target as HTMLElement).closest<HTMLElement>('.react-flow__node');
    const id = node?.dataset['id'];
    if (id === undefined) return;
    event.preventDefault();
    onSelect(id);
  };
  return (
    <div className="dag" onKeyDown={key}>
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
