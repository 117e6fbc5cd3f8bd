import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical.js';

/** Lowercase hex SHA-256 of bytes or a UTF-8 string. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The digest of a JSON value: SHA-256 of its RFC 8785 canonical form, lowercase hex. */
export function jsonDigest(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
