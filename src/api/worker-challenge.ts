import { v7 as uuidv7 } from 'uuid';
import { fromBase64, utf8 } from '../attest/bytes.js';
import { verifyEd25519 } from '../attest/ed25519.js';
import { publicKeyFromPem } from '../attest/keys.js';
import type { Signer } from '../attest/keys.js';
import type { Store } from '../store/store.js';
import { registrationMessage } from '../worker/registration.js';

/**
 * Registration challenges: a worker proves it holds its private key by signing a challenge the server
 * issued. The challenge is itself signed by the coordinator key (and names the principal and an expiry),
 * so any replica sharing that key can check it without shared memory.
 *
 * A challenge is good for one registration: its nonce is the id of the worker it registers, so a replayed
 * registration finds its worker already in the store (the one place replicas share) and is refused.
 */
const TTL_MS = 120_000;
const CHALLENGE_CONTEXT = 'verity-worker-challenge\n';

export function issueChallenge(signer: Signer, principal: string): { challenge: string; expiresAt: string } {
  const expiresAt = Date.now() + TTL_MS;
  const body = Buffer.from(JSON.stringify({ nonce: uuidv7(), principal, exp: expiresAt })).toString('base64url');
  const signature = Buffer.from(signer.sign(utf8(CHALLENGE_CONTEXT + body))).toString('base64url');
  return { challenge: `${body}.${signature}`, expiresAt: new Date(expiresAt).toISOString() };
}

/** The id of the worker a challenge registers. */
export function workerIdOf(nonce: string): string {
  return `remote-${nonce}`;
}

/**
 * Checks a registration proof: the id of the worker it may register when it holds, or why it is refused.
 * The caller must still refuse a challenge whose worker already exists (it was used).
 */
export async function checkRegistration(
  store: Store,
  principal: string,
  challenge: string,
  workerPublicKeyPem: string,
  signatureB64: string,
  zkPublicKey?: { x: string; y: string },
): Promise<{ workerId: string } | { problem: string }> {
  const problem = await findProblem(store, principal, challenge, workerPublicKeyPem, signatureB64, zkPublicKey);
  if (typeof problem === 'string') return { problem };
  return { workerId: workerIdOf(problem.nonce) };
}

async function findProblem(
  store: Store,
  principal: string,
  challenge: string,
  workerPublicKeyPem: string,
  signatureB64: string,
  zkPublicKey: { x: string; y: string } | undefined,
): Promise<string | { nonce: string }> {
  const [body, signature, ...rest] = challenge.split('.');
  if (!body || !signature || rest.length > 0)
    return 'the challenge is malformed; ask for one at POST /v1/worker/challenge';
  const coordinatorKeys = (await store.read.listKeys('coordinator')).map((k) => publicKeyFromPem(k.publicKeyPem));
  const sig = Buffer.from(signature, 'base64url');
  let issued = false;
  for (const key of coordinatorKeys) {
    if (await verifyEd25519(key, utf8(CHALLENGE_CONTEXT + body), sig)) issued = true;
  }
  if (!issued) return 'the challenge was not issued by this server';
  let claims: { nonce?: unknown; principal?: unknown; exp?: unknown };
  try {
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as typeof claims;
  } catch {
    return 'the challenge is malformed';
  }
  if (claims.principal !== principal) return 'the challenge was issued to another key';
  if (typeof claims.exp !== 'number' || claims.exp < Date.now()) return 'the challenge has expired; ask for a new one';
  if (typeof claims.nonce !== 'string' || !/^[0-9a-f-]{36}$/.test(claims.nonce))
    return 'the challenge is malformed; ask for a new one';
  let workerKey: Uint8Array;
  let proof: Uint8Array;
  try {
    workerKey = publicKeyFromPem(workerPublicKeyPem);
    proof = fromBase64(signatureB64);
  } catch (error) {
    return `the worker key or signature is malformed: ${(error as Error).message}`;
  }
  if (!(await verifyEd25519(workerKey, registrationMessage(challenge, zkPublicKey), proof))) {
    return 'the signature over the challenge does not verify with the worker key: the worker does not hold it';
  }
  return { nonce: claims.nonce };
}
