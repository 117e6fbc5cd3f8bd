import type { ExecutorBlobs } from '../executors/executor.js';
import { blobDigestOf, blobDigestsIn } from './blob-ref.js';
import { BlobError } from './errors.js';
import type { FileBlobStore } from './file-blob-store.js';

/**
 * The blobs one job may touch, for a worker beside the blob store: it reads only what its input names and
 * what the execution's owner may read (`mayRead`): naming a digest, even one a workflow expression made
 * up, is not enough to read another client's data. It may store anything.
 */
export function jobBlobs(store: FileBlobStore, job: { jobId: string; input: unknown }, mayRead: (digest: string) => Promise<boolean>): ExecutorBlobs {
  let readable: Set<string> | undefined;
  return {
    async get(ref) {
      const digest = blobDigestOf(ref);
      readable ??= blobDigestsIn(job.input);
      if (!readable.has(digest)) throw new BlobError('forbidden', `job ${job.jobId} may read only the blobs its input names, and ${digest} is not one of them`);
      if (!(await mayRead(digest))) throw new BlobError('not_found', `no blob ${digest} that this execution's owner may read`);
      return store.get(digest);
    },
    put: (bytes, mediaType) => store.put(bytes, mediaType),
  };
}
