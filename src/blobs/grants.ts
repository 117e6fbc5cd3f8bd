import type { Store, StoreReads } from '../store/store.js';
import type { BlobRef } from './blob-ref.js';

/** Whether the client that owns an execution may read a blob: its jobs may read no more than it may. */
export async function executionOwnerMayRead(store: { read: StoreReads }, executionId: string, digest: string): Promise<boolean> {
  const execution = await store.read.getExecution(executionId);
  return execution !== undefined && (await store.read.hasBlobGrant(digest, execution.clientId));
}

/** Lets `principal` read a blob from now on: what an upload does for its uploader. */
export async function grantBlob(store: Pick<Store, 'transaction'>, ref: BlobRef, principal: string, now = Date.now()): Promise<void> {
  await store.transaction((tx) => tx.grantBlobs([{ digest: ref.$blob, size: ref.size, mediaType: ref.mediaType, createdAt: now }], principal, now));
}
