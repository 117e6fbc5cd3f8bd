import { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import type { BlobRef } from '../blobs/blob-ref.js';
import { BlobError } from '../blobs/errors.js';
import type { StoreTx } from '../store/store.js';
import { principalOf } from './auth.js';
import { ApiError } from './errors.js';
import type { ApiContext } from './server.js';

const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

/** The media type a blob is stored under: the request's Content-Type without parameters, or octet-stream. */
function mediaTypeOf(header: string | undefined): string {
  const type = (header ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === '') return 'application/octet-stream';
  if (!MEDIA_TYPE.test(type))
    throw new ApiError('validation', `header content-type: "${type}" is not a media type such as image/png`);
  return type;
}

/** The Content-Length a request declares, if any (a chunked upload declares none). */
function declaredLength(request: FastifyRequest): number | undefined {
  const header = request.headers['content-length'];
  if (header === undefined) return undefined;
  const length = Number(header);
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}

/**
 * Receives the body of an upload route as a blob, streamed to disk and hashed on the way, whatever its
 * size: memory holds a chunk at a time. Refused with nothing stored and no file left behind: over the
 * largest blob (413 `too_large`: at once when the Content-Length says so, else as soon as the bytes do),
 * or past the principal's stored-bytes quota (429 `quota_exceeded`, `blob_bytes`). The quota is checked
 * once the digest is known, since bytes the principal uploaded before are not counted again (a client
 * may send the same image with every execution); only a blob larger than the whole quota is refused
 * before it is read. The upload counts against the principal's quota, and `record` writes what else the
 * route keeps of it (a grant), in the same transaction; the blob moves into place inside that
 * transaction, so a blob the store names is always on disk.
 */
export async function receiveUpload(
  request: FastifyRequest,
  context: ApiContext,
  record: (tx: StoreTx, ref: BlobRef, now: number) => Promise<void> = () => Promise.resolve(),
): Promise<BlobRef> {
  const { node, quotas } = context;
  const limit = context.options.blobLimit;
  // The raw-bytes parser hands the request's own stream over; a request with no body has none.
  if (!(request.body instanceof Readable))
    throw new ApiError('validation', "body: send the blob's bytes as the request body");
  const body = request.body;
  const { principal } = principalOf(request);
  const mediaType = mediaTypeOf(request.headers['content-type']);
  const declared = declaredLength(request);
  // A refusal before the whole body is read is answered at once; the blob routes' onSend hook then closes
  // the connection without resetting a client that is still sending (lingering-close.ts).
  const tooLarge = () => new ApiError('too_large', `body: a blob may be at most ${limit} bytes; this one is larger`);
  if (declared !== undefined && declared > limit) throw tooLarge();
  if (declared !== undefined && declared > quotas.quotas.blobBytes) throw quotas.blobBytesExceeded(principal);
  let staged;
  try {
    staged = await node.blobs.receive(body, { maxBytes: limit });
  } catch (error) {
    if (!(error instanceof BlobError && error.code === 'too_large')) throw error;
    throw tooLarge();
  }
  const ref: BlobRef = { $blob: staged.digest, size: staged.size, mediaType };
  const held = quotas.holdUpload(principal, ref.size);
  try {
    await node.store.transaction(async (tx) => {
      const now = Date.now();
      // Read in the transaction: another replica may have stored bytes for this principal meanwhile.
      const stored = await tx.blobBytesUploaded(principal);
      held.check(stored, await tx.recordBlobUpload(principal, { digest: ref.$blob, size: ref.size }, now));
      await record(tx, ref, now);
      await staged.commit();
    });
  } finally {
    held.release();
    await staged.discard();
  }
  return ref;
}
