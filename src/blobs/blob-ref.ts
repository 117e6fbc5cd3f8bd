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
    throw new BlobError(
      'invalid_ref',
      `${field} must be a blob digest "sha256:<64 hex digits>" or a reference { "$blob": "sha256:…", "size", "mediaType" }`,
    );
  }
  return digest;
}

/**
 * Visits every value inside a JSON value, depth first in document order, without recursion: inputs come
 * from clients, and one nested thousands deep must not overflow the stack. `visit` returns true to stop
 * at that value (its insides are not visited).
 */
function walkJson(root: unknown, visit: (value: unknown) => boolean): void {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (visit(value) || value === null || typeof value !== 'object') continue;
    const children = Array.isArray(value) ? value : Object.values(value as Record<string, unknown>);
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
  }
}

/**
 * Every blob reference inside a JSON value, depth first, each digest once. Objects that only look like a
 * reference (a `$blob` key beside other fields, a malformed digest) are data, not references.
 */
export function blobRefsIn(value: unknown): BlobRef[] {
  const found = new Map<string, BlobRef>();
  walkJson(value, (v) => {
    if (!isBlobRef(v)) return false;
    if (!found.has(v.$blob)) found.set(v.$blob, v);
    return true;
  });
  return [...found.values()];
}

/**
 * Every digest a JSON value names, as a reference or as a bare `sha256:<hex>` string: what a job may read.
 */
export function blobDigestsIn(value: unknown): Set<string> {
  const found = new Set<string>();
  walkJson(value, (v) => {
    if (isBlobRef(v)) found.add(v.$blob);
    else if (isBlobDigest(v)) found.add(v);
    else return false;
    return true;
  });
  return found;
}
