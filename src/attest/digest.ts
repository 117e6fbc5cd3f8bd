import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { utf8, toHex } from './bytes.js';
import { canonicalJson } from './canonical.js';

/**
 * SHA-256 from @noble/hashes: pure JavaScript, so the verifier computes digests the same way in Node and in
 * a browser. (A unit test holds it to node:crypto.)
 */
export function sha256(data: Uint8Array | string): Uint8Array {
  return nobleSha256(typeof data === 'string' ? utf8(data) : data);
}

/** Lowercase hex SHA-256 of bytes or a UTF-8 string. */
export function sha256Hex(data: Uint8Array | string): string {
  return toHex(sha256(data));
}

/** The digest of a JSON value: SHA-256 of its RFC 8785 canonical form, lowercase hex. */
export function jsonDigest(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
