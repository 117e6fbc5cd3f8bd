/**
 * Ed25519 signature verification through WebCrypto, which Node (20+) and current browsers both provide
 * natively, so the verifier is fast and the same code everywhere. Signing is not here: only executing
 * parts sign, with keys they hold (src/keys/).
 */
// Types only (erased at build): Node's typings describe the same WebCrypto API a browser has.
import type { webcrypto } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
const keyCache = new Map<string, Promise<CryptoKey>>();

function subtle(): webcrypto.SubtleCrypto {
  const api = globalThis.crypto?.subtle;
  if (!api) throw new Error('WebCrypto (crypto.subtle) is not available in this environment');
  return api;
}

function importKey(publicKey: Uint8Array): Promise<CryptoKey> {
  const cacheKey = Array.from(publicKey, (b) => b.toString(16).padStart(2, '0')).join('');
  const cached = keyCache.get(cacheKey);
  if (cached) return cached;
  const key = subtle().importKey('raw', publicKey.slice(), { name: 'Ed25519' }, false, ['verify']);
  if (keyCache.size > 10_000) keyCache.clear();
  keyCache.set(cacheKey, key);
  // A key that fails to import must not stay cached as a rejected promise.
  key.catch(() => keyCache.delete(cacheKey));
  return key;
}

/** True when `signature` is a valid Ed25519 signature of `message` by the 32-byte `publicKey`. */
export async function verifyEd25519(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    return await subtle().verify({ name: 'Ed25519' }, await importKey(publicKey), signature.slice(), message.slice());
  } catch {
    // An invalid point is a failed verification, not an exception for the caller to handle.
    return false;
  }
}
