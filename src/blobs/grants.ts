import type { Store, StoreReads } from '../store/store.js';
import type { BlobRef } from './blob-ref.js';

/** Whether the client that owns an execution may read a blob: its jobs may read no more than it may. */
export async function executionOwnerMayRead(
  store: { read: StoreReads },
  executionId: string,
  digest: string,
): Promise<boolean> {
  const execution = await store.read.getExecution(executionId);
  return execution !== undefined && (await store.read.hasBlobGrant(digest, execution.clientId));
}

/** Lets `principal` read a blob from now on: what an upload does for its uploader. */
export async function grantBlob(
  store: Pick<Store, 'transaction'>,
  ref: BlobRef,
  principal: string,
  now = Date.now(),
): Promise<void> {
  await store.transaction((tx) =>
    tx.grantBlobs([{ digest: ref.$blob, size: ref.size, mediaType: ref.mediaType, createdAt: now }], principal, now),
  );
}

/**
 * Who a worker's upload for a job is granted to: the job itself, not the worker (which serves many
 * clients) nor the execution's owner (who gets it only if the job's accepted output names it). API key
 * principals cannot contain ':', so no key can be named like a job.
 */
export function jobPrincipal(jobId: string): string {
  return `job:${jobId}`;
}

/** Records that a job uploaded this blob, so its output may hand it on. Every worker upload goes through here. */
export function grantToJob(store: Pick<Store, 'transaction'>, ref: BlobRef, jobId: string): Promise<void> {
  return grantBlob(store, ref, jobPrincipal(jobId));
}

/**
 * Whether a job's output may name a blob, and so grant it to the execution's owner: only a blob the owner
 * can read already (it uploaded it, or another of its steps produced it: that covers every blob the job's
 * input may name, since a client's inputs are checked at execute) or one the job uploaded itself. A digest
 * an expression wrote is not enough. The answer never depends on whether the blob exists.
 */
export async function jobMayName(
  store: { read: StoreReads },
  job: { jobId: string; ownerId: string },
  digest: string,
): Promise<boolean> {
  return (
    (await store.read.hasBlobGrant(digest, job.ownerId)) ||
    (await store.read.hasBlobGrant(digest, jobPrincipal(job.jobId)))
  );
}
