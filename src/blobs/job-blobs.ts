import type { ExecutorBlobs } from '../executors/executor.js';
import type { Store } from '../store/store.js';
import { blobDigestOf, blobDigestsIn } from './blob-ref.js';
import { BlobError } from './errors.js';
import type { BlobStore } from './blob-store.js';
import { executionOwnerMayRead, grantToJob } from './grants.js';

/**
 * The blobs one job may touch, for a worker beside the blob store: it reads only what its input names and
 * what the execution's owner may read: naming a digest, even one a workflow expression made up, is not
 * enough to read another client's data. What it stores is granted to the job (grantToJob), as a remote
 * worker's upload is, so its output may hand it on to the owner.
 */
export function jobBlobs(
  blobStore: BlobStore,
  store: Store,
  job: { jobId: string; executionId: string; input: unknown },
): ExecutorBlobs {
  let readable: Set<string> | undefined;
  return {
    async get(ref) {
      const digest = blobDigestOf(ref);
      readable ??= blobDigestsIn(job.input);
      if (!readable.has(digest))
        throw new BlobError(
          'forbidden',
          `job ${job.jobId} may read only the blobs its input names, and ${digest} is not one of them`,
        );
      if (!(await executionOwnerMayRead(store, job.executionId, digest)))
        throw new BlobError('not_found', `no blob ${digest} that this execution's owner may read`);
      return blobStore.get(digest);
    },
    async put(bytes, mediaType) {
      const ref = await blobStore.put(bytes, mediaType);
      await grantToJob(store, ref, job.jobId);
      return ref;
    },
  };
}
