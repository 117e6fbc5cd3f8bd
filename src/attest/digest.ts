import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { utf8, toHex } from './bytes.js';
import { canonicalJson } from './canonical.js';

type Sha256 = (data: Uint8Array) => Uint8Array;

/**
 * SHA-256 from @noble/hashes by default: pure JavaScript, so digests are computed the same way in Node and
 * in a browser. A Node process may install the native one (src/keys/node-crypto.ts), which is several
 * times faster on the engine's hot path; a unit test holds the two to the same answers.
 */
let implementation: Sha256 = nobleSha256;

export function useSha256(impl: Sha256): void {
  implementation = impl;
}

export function sha256(data: Uint8Array | string): Uint8Array {
  return implementation(typeof data === 'string' ? utf8(data) : data);
}

/** Lowercase hex SHA-256 of bytes or a UTF-8 string. */
export function sha256Hex(data: Uint8Array | string): string {
  return toHex(sha256(data));
}

/** The digest of a JSON value: SHA-256 of its RFC 8785 canonical form, lowercase hex. */
export function jsonDigest(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
