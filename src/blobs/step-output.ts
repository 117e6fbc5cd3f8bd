import type { BlobRef } from './blob-ref.js';
import { BlobError } from './errors.js';
import { readJsonBlob } from './json-blob.js';

/** What reading step outputs needs of a blob store. */
export interface BlobReader {
  get(digest: string): Promise<Uint8Array>;
}

/**
 * A step result's output value: inline in the row, or (too large for a row) read back from the blob that
 * holds its canonical JSON. Here rather than on the coordinator, so whoever reads results (the engine's
 * expressions, tests) needs the blob store only, not the job queue.
 */
export async function readStepOutput(
  blobs: BlobReader | undefined,
  result: { output: unknown; outputStorage?: 'blob' | undefined },
): Promise<unknown> {
  if (result.outputStorage !== 'blob') return result.output;
  if (!blobs)
    throw new BlobError('unavailable', 'a step output is kept as a blob, and no blob store was given to read it');
  return readJsonBlob(blobs, result.output as BlobRef);
}
