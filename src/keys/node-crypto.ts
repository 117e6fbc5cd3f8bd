import { createHash } from 'node:crypto';
import { useSha256 } from '../attest/digest.js';

let installed = false;

/**
 * Gives attest/ Node's native SHA-256. Everything executing in Node (engine, coordinator, workers, CLI)
 * calls this once; the pure default stays in place wherever this module is not loaded (a browser).
 */
export function installNodeCrypto(): void {
  if (installed) return;
  installed = true;
  useSha256((data) => new Uint8Array(createHash('sha256').update(data).digest()));
}
