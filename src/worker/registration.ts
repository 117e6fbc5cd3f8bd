import { utf8 } from '../attest/bytes.js';

/**
 * What a worker signs to register: the server's challenge under a fixed context, so the signature can
 * never pass for anything else the worker signs (its attestations are DSSE, with their own framing).
 */
export const REGISTRATION_CONTEXT = 'verity-worker-registration\n';

export function registrationMessage(challenge: string, zkPublicKey?: { x: string; y: string }): Uint8Array {
  // A Baby Jubjub key registered alongside is signed too: it can only join the registry with the worker's consent.
  return utf8(REGISTRATION_CONTEXT + challenge + (zkPublicKey ? `\nzk ${zkPublicKey.x} ${zkPublicKey.y}` : ''));
}
