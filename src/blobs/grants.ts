import type { StoreReads } from '../store/store.js';

/** Whether the client that owns an execution may read a blob: its jobs may read no more than it may. */
export async function executionOwnerMayRead(store: { read: StoreReads }, executionId: string, digest: string): Promise<boolean> {
  const execution = await store.read.getExecution(executionId);
  return execution !== undefined && (await store.read.hasBlobGrant(digest, execution.clientId));
}
