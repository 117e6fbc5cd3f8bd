import { useMemo } from 'react';
import type { StepSummary } from 'verity/sdk';
import { DefinitionGraph } from '../components/DefinitionGraph';
import type { StepMark } from '../lib/graph';
import { statusColour } from '../lib/status';

/**
 * An execution's steps on its workflow's graph, each coloured and labelled by its state, the edges into a
 * running step animated. A node opens its step's panel on a click, or on Enter or Space while it has the
 * focus.
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
  // The marks change only when a step's state does: `look` sums that up, so a new view with the same
  // states redraws nothing.
  const look = steps.map((s) => `${s.id}=${s.status}`).join(',');
  const marks = useMemo(
    () =>
      new Map<string, StepMark>(
        steps.map((s) => [s.id, { colour: statusColour(s.status), note: s.status, title: s.status }]),
      ),
    [look],
  );
  const running = useMemo(() => new Set(steps.filter((s) => s.status === 'running').map((s) => s.id)), [look]);
  return (
    <DefinitionGraph
      definition={definition}
      marks={marks}
      flowing={running}
      selected={selected}
      onSelect={onSelect}
      label="the execution's steps"
    />
  );
}
