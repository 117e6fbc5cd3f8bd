import { keyIdOf, publicKeyFromPem } from '../keys.js';

/**
 * The coordinator keys a verifier trusts, by keyid, from PEM (SPKI) text or raw 32-byte keys; or why they
 * cannot be used (a key that does not parse, or none at all: keys inside a document are never trusted on
 * their own word).
 */
export function trustedKeyMap(
  keys: readonly (string | Uint8Array)[],
): { trusted: Map<string, Uint8Array> } | { unusable: string } {
  const trusted = new Map<string, Uint8Array>();
  for (const key of keys) {
    try {
      const raw = typeof key === 'string' ? publicKeyFromPem(key) : key;
      trusted.set(keyIdOf(raw), raw);
    } catch (error) {
      return { unusable: `a trusted key is unusable: ${(error as Error).message}` };
    }
  }
  if (trusted.size === 0) {
    return {
      unusable:
        'no trusted key: pass the coordinator public key (--trust KEY.pem); keys inside a bundle are never trusted on their own word',
    };
  }
  return { trusted };
}
