import { randomBytes } from 'node:crypto';
import type { Eddsa } from 'circomlibjs';
import { ZkError } from '../attest/zk/errors.js';
import { FIELD_MODULUS, decimal, parseField } from '../attest/zk/fields.js';
import { babyJubPool } from './babyjub-pool.js';
import { BABYJUB_A as A, BABYJUB_D as D, deriveZkPublicKey } from './babyjub-public-key.js';
import { importCircomlibjs } from './poseidon.js';

/** A Baby Jubjub public key, coordinates as decimal strings. */
export interface ZkPublicKey {
  x: string;
  y: string;
}

/** An EdDSA-Poseidon signature (R8, S), as decimal strings. */
export interface ZkSignature {
  r8x: string;
  r8y: string;
  s: string;
}

let loading: Promise<Eddsa> | undefined;

/** circomlibjs's EdDSA, loaded on first use (about a second): only zk executions need it. */
export function loadEddsa(): Promise<Eddsa> {
  loading ??= importCircomlibjs().then(({ buildEddsa }) => buildEddsa());
  return loading;
}

/**
 * A worker's second identity: a Baby Jubjub key whose EdDSA-Poseidon signatures a circuit can check
 * cheaply (an Ed25519 signature inside a SNARK would cost millions of constraints). It signs only step
 * leaves (src/attest/zk/chain.ts), never anything else.
 */
export class ZkSigner {
  private constructor(
    private readonly privateKey: Uint8Array,
    readonly publicKey: ZkPublicKey,
  ) {}

  /** From a private key and its public key as stored (no curve arithmetic, so no circomlibjs at start). */
  static fromKeys(privateKey: Uint8Array, publicKey: ZkPublicKey): ZkSigner {
    if (privateKey.byteLength !== 32)
      throw new ZkError('invalid_key', `a Baby Jubjub private key is 32 bytes, not ${privateKey.byteLength}`);
    return new ZkSigner(privateKey, publicKey);
  }

  /** Derives the public key in plain bigint arithmetic: a new worker starts without circomlibjs. */
  static fromPrivateKey(privateKey: Uint8Array): ZkSigner {
    if (privateKey.byteLength !== 32)
      throw new ZkError('invalid_key', `a Baby Jubjub private key is 32 bytes, not ${privateKey.byteLength}`);
    return new ZkSigner(privateKey, deriveZkPublicKey(privateKey));
  }

  static generate(): ZkSigner {
    return ZkSigner.fromPrivateKey(new Uint8Array(randomBytes(32)));
  }

  privateKeyHex(): string {
    return Buffer.from(this.privateKey).toString('hex');
  }

  /** The same signature as sign, made on a thread of the process's pool: the event loop stays free. */
  signOffThread(message: bigint): Promise<ZkSignature> {
    return babyJubPool().sign(this.privateKey, message);
  }

  async sign(message: bigint): Promise<ZkSignature> {
    const eddsa = await loadEddsa();
    const { R8, S } = eddsa.signPoseidon(this.privateKey, eddsa.F.e(message));
    return { r8x: decimal(eddsa.F.toObject(R8[0])), r8y: decimal(eddsa.F.toObject(R8[1])), s: decimal(S) };
  }
}

/** Checks a leaf signature outside the circuit, as the coordinator does before accepting a result. */
export async function verifyZkSignature(
  publicKey: ZkPublicKey,
  message: bigint,
  signature: ZkSignature,
): Promise<boolean> {
  const eddsa = await loadEddsa();
  try {
    const F = eddsa.F;
    const A: [Uint8Array, Uint8Array] = [
      F.e(parseField(publicKey.x, 'publicKey.x')),
      F.e(parseField(publicKey.y, 'publicKey.y')),
    ];
    const R8: [Uint8Array, Uint8Array] = [
      F.e(parseField(signature.r8x, 'signature.r8x')),
      F.e(parseField(signature.r8y, 'signature.r8y')),
    ];
    const s = parseField(signature.s, 'signature.s');
    // The circuit refuses S at or above the subgroup order (signature malleability); so does this.
    if (s >= eddsa.babyJub.subOrder) return false;
    if (!eddsa.babyJub.inCurve(A) || !eddsa.babyJub.inCurve(R8)) return false;
    return eddsa.verifyPoseidon(F.e(message), { R8, S: s }, A);
  } catch (error) {
    if (error instanceof ZkError) return false;
    throw error;
  }
}

/**
 * Parses a public key from untrusted input (a registration, a stored row), naming what is wrong. The
 * curve equation is checked with plain bigint arithmetic, so registering needs no circomlibjs. A point
 * outside the prime-order subgroup is harmless: the circuit multiplies the key by the cofactor 8.
 */
export function parseZkPublicKey(value: unknown, name = 'zkPublicKey'): ZkPublicKey {
  if (typeof value !== 'object' || value === null)
    throw new ZkError('invalid_key', `${name} must be an object {x, y} of decimal strings`);
  const { x: xs, y: ys } = value as Record<string, unknown>;
  const x = parseField(xs, `${name}.x`);
  const y = parseField(ys, `${name}.y`);
  const p = FIELD_MODULUS;
  const x2 = (x * x) % p;
  const y2 = (y * y) % p;
  if ((A * x2 + y2) % p !== (1n + ((D * x2) % p) * y2) % p)
    throw new ZkError('invalid_key', `${name} is not a point on Baby Jubjub`);
  if (x === 0n) throw new ZkError('invalid_key', `${name} is a point of small order, not a key`);
  return { x: decimal(x), y: decimal(y) };
}
