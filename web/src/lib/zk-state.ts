/** The zk progress of the execution's view (GET /v1/executions/{id}), as the SDK returns it. */
export interface ZkProgress {
  status: 'pending' | 'proving' | 'completed' | 'failed';
  circuit: string;
  batchesDone: number;
  batchesTotal: number;
  error?: { code: string; message: string };
}

export type ZkState =
  | { state: 'none' }
  | { state: 'after-end' }
  | { state: 'unavailable'; reason: string }
  | { state: 'queued'; done: number; total: number; circuit: string }
  | { state: 'proving'; batch: number; done: number; total: number; circuit: string }
  | { state: 'proved'; total: number; circuit: string; ms?: number }
  | { state: 'failed'; code: string; message: string; circuit: string };

/**
 * Where the zk proofs of an execution stand, from its view and its events. The view's `zk` is the
 * authority once the receipt is signed (it is present only for an execution that completed at level zk);
 * before that, a workflow at level zk is proven after it ends, and a coordinator without a zk setup says
 * so in a zk.unavailable event instead of recording a proof. Batches are proven side by side, so
 * "batch i" is the first one not yet done.
 */
export function zkState(
  zk: ZkProgress | undefined,
  events: readonly { type: string; data?: Record<string, unknown> }[],
  asksForZk: boolean,
  ended: boolean,
): ZkState {
  const unavailable = events.findLast((e) => e.type === 'zk.unavailable');
  if (!zk) {
    if (unavailable) {
      const reason = unavailable.data?.['reason'];
      return { state: 'unavailable', reason: typeof reason === 'string' ? reason : 'no reason given' };
    }
    return asksForZk && !ended ? { state: 'after-end' } : { state: 'none' };
  }
  const total = zk.batchesTotal;
  const done = Math.min(zk.batchesDone, total);
  switch (zk.status) {
    case 'pending':
      return { state: 'queued', done, total, circuit: zk.circuit };
    case 'proving':
      return { state: 'proving', batch: Math.min(done + 1, total), done, total, circuit: zk.circuit };
    case 'completed': {
      const ms = events.findLast((e) => e.type === 'zk.proved')?.data?.['ms'];
      return { state: 'proved', total, circuit: zk.circuit, ...(typeof ms === 'number' && { ms }) };
    }
    case 'failed':
      return {
        state: 'failed',
        code: zk.error?.code ?? 'proving_failed',
        message: zk.error?.message ?? '',
        circuit: zk.circuit,
      };
  }
}

/** Whether the proofs may still move, so the page keeps asking. */
export function zkInFlight(state: ZkState): boolean {
  return state.state === 'queued' || state.state === 'proving';
}
