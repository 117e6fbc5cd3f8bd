import { Annotation, END, START, StateGraph } from '@langchain/langgraph';
import { SqliteSaver } from '@langchain/langgraph-checkpoint-sqlite';
import { join } from 'node:path';
import { STEPS, childMain, measureChain } from '../chain.js';
import type { ChainInput } from '../chain.js';

/**
 * LangGraph.js: a StateGraph of 50 nodes in a line, each returning the state it was given, compiled with the
 * SQLite checkpointer and invoked with durability "sync" (each step's checkpoint is written before the next
 * step starts: LangGraph's durable setting; the default, "async", writes it while the next step runs).
 */
childMain(async (options) => {
  const State = Annotation.Root({ value: Annotation<ChainInput> });
  const noop = (state: typeof State.State) => ({ value: state.value });
  // Typed as the plain builder: the node names are generated, so the literal types of addNode do not help.
  let graph = new StateGraph(State) as unknown as StateGraph<typeof State.spec, typeof State.State, unknown, string>;
  for (let i = 0; i < STEPS; i++) graph = graph.addNode(`s${i}`, noop);
  graph = graph.addEdge(START, 's0');
  for (let i = 1; i < STEPS; i++) graph = graph.addEdge(`s${i - 1}`, `s${i}`);
  graph = graph.addEdge(`s${STEPS - 1}`, END);
  const checkpointer = SqliteSaver.fromConnString(join(String(options.dataDir), 'checkpoints.db'));
  const app = graph.compile({ checkpointer });
  let thread = 0;
  const perStep = await measureChain(options, async (input) => {
    const final = await app.invoke(
      { value: input },
      { configurable: { thread_id: `run-${thread++}` }, durability: 'sync', recursionLimit: STEPS + 10 },
    );
    return final.value;
  });
  // That the checkpoints were written, not only the result returned: one per step and a few around them.
  const written = checkpointer.db
    .prepare('SELECT count(*) AS n FROM checkpoints WHERE thread_id = ?')
    .get(`run-${thread - 1}`) as { n: number };
  if (written.n < STEPS) throw new Error(`LangGraph wrote ${written.n} checkpoints for a run, fewer than ${STEPS}`);
  const level = checkpointer.db.pragma('synchronous', { simple: true }) as number;
  const synchronous = ['OFF', 'NORMAL', 'FULL', 'EXTRA'][level] ?? String(level);
  return { per_step_ms: perStep, settings: `SqliteSaver (WAL, synchronous ${synchronous}), durability "sync"` };
});
