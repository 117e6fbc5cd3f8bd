import { createPublicKey, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { toHex } from '../attest/bytes.js';

const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const keys = new Map<string, KeyObject>();

/**
 * Ed25519 verification through node:crypto, synchronously: for the coordinator's hot path, where the
 * portable WebCrypto verifier would add a thread-pool round trip to every accepted result.
 */
export function nodeVerifyEd25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  const id = toHex(publicKey);
  let key = keys.get(id);
  if (!key) {
    key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
    if (keys.size > 10_000) keys.clear();
    keys.set(id, key);
  }
  try {
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}
