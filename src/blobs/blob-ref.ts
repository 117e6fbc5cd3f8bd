import { sha256Hex } from '../attest/digest.js';
import { BlobError } from './errors.js';

/**
 * How a JSON value points at bytes kept apart from it (an image, a trained model, a step output too large
 * for a database row): `{ "$blob": "sha256:<hex>", "size": n, "mediaType": "image/png" }`. The digest is
 * the SHA-256 of the raw bytes, so a reference is checkable by anyone holding the bytes, and a blob of
 * canonical JSON has the same digest as the JSON value it holds (DESIGN §5).
 */
export interface BlobRef {
  $blob: string;
  size: number;
  mediaType: string;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** The digest that names these bytes: `sha256:<hex>`. */
export function digestOfBytes(bytes: Uint8Array): string {
  return `sha256:${sha256Hex(bytes)}`;
}

export function isBlobDigest(value: unknown): value is string {
  return typeof value === 'string' && DIGEST.test(value);
}

/** Whether a value is a blob reference (exactly the three fields, well formed). */
export function isBlobRef(value: unknown): value is BlobRef {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  const keys = Object.keys(v);
  return (
    keys.length === 3 &&
    isBlobDigest(v.$blob) &&
    Number.isSafeInteger(v.size) &&
    (v.size as number) >= 0 &&
    typeof v.mediaType === 'string' &&
    v.mediaType.length > 0 &&
    v.mediaType.length <= 200
  );
}

/** The digest a reference or a bare digest names; a clear error for anything else. */
export function blobDigestOf(ref: BlobRef | string, field = 'blob'): string {
  const digest = typeof ref === 'string' ? ref : ref.$blob;
  if (!isBlobDigest(digest)) {
    throw new BlobError('invalid_ref', `${field} must be a blob digest "sha256:<64 hex digits>" or a reference { "$blob": "sha256:…", "size", "mediaType" }`);
  }
  return digest;
}

/**
 * Every blob reference inside a JSON value, depth first, each digest once. Objects that only look like a
 * reference (a `$blob` key beside other fields, a malformed digest) are data, not references.
 */
export function blobRefsIn(value: unknown, found = new Map<string, BlobRef>()): BlobRef[] {
  if (isBlobRef(value)) {
    if (!found.has(value.$blob)) found.set(value.$blob, value);
  } else if (Array.isArray(value)) {
    for (const item of value) blobRefsIn(item, found);
  } else if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value as Record<string, unknown>)) blobRefsIn(item, found);
  }
  return [...found.values()];
}

/**
 * Every digest a JSON value names, as a reference or as a bare `sha256:<hex>` string: what a job may read.
 */
export function blobDigestsIn(value: unknown, found = new Set<string>()): Set<string> {
  if (isBlobRef(value)) found.add(value.$blob);
  else if (isBlobDigest(value)) found.add(value);
  else if (Array.isArray(value)) for (const item of value) blobDigestsIn(item, found);
  else if (value !== null && typeof value === 'object') for (const item of Object.values(value as Record<string, unknown>)) blobDigestsIn(item, found);
  return found;
}
