import { blobDigestOf } from './blob-ref.js';
import type { BlobRef } from './blob-ref.js';
import { BlobError } from './errors.js';

/**
 * The JSON value a blob holds: how a step output too large for a database row is kept (its canonical
 * JSON). One reader for the coordinator, which checks such outputs, the engine and the bundle, which read
 * them back.
 */
export async function readJsonBlob(
  store: { get(digest: string): Promise<Uint8Array> },
  ref: BlobRef | string,
): Promise<unknown> {
  const digest = blobDigestOf(ref);
  const bytes = await store.get(digest);
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
  } catch {
    throw new BlobError('corrupt', `blob ${digest} is not JSON`);
  }
}
