import { blake512 } from '@noble/hashes/blake1.js';
import { FIELD_MODULUS, decimal } from '../attest/zk/fields.js';

/**
 * A Baby Jubjub public key from its private key, the way circomlibjs's `prv2pub` derives it (BLAKE-512 of
 * the key, pruned, shifted right by 3, times the generator Base8), in plain bigint arithmetic. circomlibjs
 * builds its whole WebAssembly field and curve stack first (a second or two of CPU, at the start of every
 * new worker); a key's public half needs one scalar multiplication, a few milliseconds here.
 * Checked against circomlibjs in test/unit/zk/babyjub-public-key.test.ts.
 */
export function deriveZkPublicKey(privateKey: Uint8Array): { x: string; y: string } {
  const h = blake512(privateKey);
  // Pruned as for EdDSA: the low 3 bits cleared, bit 255 cleared, bit 254 set (of the first 32 bytes, LE).
  h[0] = h[0]! & 0xf8;
  h[31] = (h[31]! & 0x7f) | 0x40;
  let s = 0n;
  for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(h[i]!);
  const [x, y] = toAffine(multiply(BASE8, s >> 3n));
  return { x: decimal(x), y: decimal(y) };
}

const p = FIELD_MODULUS;
/** Baby Jubjub as a twisted Edwards curve over the BN254 scalar field: a·x² + y² = 1 + d·x²·y². */
export const BABYJUB_A = 168700n;
export const BABYJUB_D = 168696n;
const A = BABYJUB_A;
const D = BABYJUB_D;
const BASE8: Projective = [
  5299619240641551281634865583518297030282874472190772894086521144482721001553n,
  16950150798460657717958625567821834550301663161624707787222815936182638968203n,
  1n,
];

/** (X : Y : Z) with x = X/Z, y = Y/Z: no field inversion until the end. */
type Projective = [bigint, bigint, bigint];

const mod = (n: bigint): bigint => {
  const r = n % p;
  return r < 0n ? r + p : r;
};

/**
 * Unified addition on projective twisted Edwards coordinates ("add-2008-bbjlp", Bernstein et al.): the same
 * formula doubles, and it is complete on Baby Jubjub (a a square, d not), as circomlibjs's affine one is.
 */
function add([x1, y1, z1]: Projective, [x2, y2, z2]: Projective): Projective {
  const a = mod(z1 * z2);
  const b = mod(a * a);
  const c = mod(x1 * x2);
  const d = mod(y1 * y2);
  const e = mod(D * c * d);
  const f = mod(b - e);
  const g = mod(b + e);
  return [mod(a * f * ((x1 + y1) * (x2 + y2) - c - d)), mod(a * g * (d - A * c)), mod(f * g)];
}

function multiply(point: Projective, scalar: bigint): Projective {
  let result: Projective = [0n, 1n, 1n];
  let addend = point;
  for (let k = scalar; k > 0n; k >>= 1n) {
    if (k & 1n) result = add(result, addend);
    addend = add(addend, addend);
  }
  return result;
}

function toAffine([x, y, z]: Projective): [bigint, bigint] {
  const inverse = power(z, p - 2n);
  return [mod(x * inverse), mod(y * inverse)];
}

function power(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % p;
    b = (b * b) % p;
  }
  return result;
}
