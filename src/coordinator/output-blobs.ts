import { blobRefsIn } from '../blobs/blob-ref.js';
import type { BlobRef } from '../blobs/blob-ref.js';
import { jobMayName } from '../blobs/grants.js';
import type { BlobRecord, ErrorInfo } from '../store/records.js';
import type { StoreReads } from '../store/store.js';

/** Who names the blobs: the job, and the client whose execution it is (the grants go to that client). */
export interface BlobNamer {
  jobId: string;
  ownerId: string;
}

/**
 * Every blob a step output names is granted to the execution's owner when the result is accepted, so each
 * must be one the job may name (jobMayName: the owner reads it already, or the job uploaded it), checked
 * first and for all of them, so the answer about another client's blob is the same whether it exists or
 * not. Then each must be in the blob store with the size its reference claims (the stored size is not
 * told: the reference is the worker's to get right). Without a blob store, only the grants are checked.
 */
export async function checkOutputBlobs(
  store: { read: StoreReads },
  blobs: { size(digest: string): Promise<number | undefined> } | undefined,
  output: unknown,
  container: BlobRef | undefined,
  namerOf: () => Promise<BlobNamer>,
): Promise<{ ok: true; records: (now: number) => BlobRecord[] } | { ok: false; error: ErrorInfo }> {
  const refs = [...blobRefsIn(output), ...(container ? [container] : [])];
  // Most outputs name no blob: then who the owner is need not be read.
  const namer = refs.length > 0 ? await namerOf() : undefined;
  for (const ref of refs) {
    if (!(await jobMayName(store, namer!, ref.$blob))) return { ok: false, error: notGranted(ref.$blob) };
  }
  if (blobs) {
    for (const ref of refs) {
      const size = await blobs.size(ref.$blob);
      if (size === undefined)
        return {
          ok: false,
          error: invalidOutput(
            `the output names blob ${ref.$blob}, which is not in the blob store: upload it (for this job) before reporting the result`,
          ),
        };
      if (size !== ref.size)
        return {
          ok: false,
          error: invalidOutput(
            `the output's reference to blob ${ref.$blob} says ${ref.size} bytes, which is not the blob's size: name it by the reference its upload answered`,
          ),
        };
    }
  }
  return {
    ok: true,
    records: (now) =>
      refs.map((ref) => ({ digest: ref.$blob, size: ref.size, mediaType: ref.mediaType, createdAt: now })),
  };
}

/**
 * A step output that names a blob the job may not hand on. Not retryable: the same step would name it
 * again. The message is the same whether the blob exists or not, and says nothing of its size.
 */
export function notGranted(digest: string): ErrorInfo {
  return {
    code: 'blob_not_granted',
    message: `the output names blob ${digest}, which this job may not hand on: a step's output may name only blobs the execution's owner can read or blobs the job uploaded itself`,
    retryable: false,
  };
}

function invalidOutput(message: string): ErrorInfo {
  return { code: 'invalid_output', message, retryable: true };
}
