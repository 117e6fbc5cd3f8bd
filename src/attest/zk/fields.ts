import { utf8 } from '../bytes.js';
import { sha256Hex } from '../digest.js';
import { ZkError } from './errors.js';

/** The BN254 scalar field every circuit signal lives in. */
export const FIELD_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

const HEX64 = /^[0-9a-f]{64}$/;
const DECIMAL = /^(0|[1-9][0-9]{0,77})$/;

/**
 * A SHA-256 digest as the circuit takes it: two 128-bit halves (hi, lo). A digest does not fit one field
 * element (254 bits), and truncating it would silently weaken it, so it never is.
 */
export function digestFields(hex: string): [bigint, bigint] {
  if (!HEX64.test(hex))
    throw new ZkError('invalid_config', `not a SHA-256 digest (64 lowercase hex characters): ${JSON.stringify(hex)}`);
  return [BigInt(`0x${hex.slice(0, 32)}`), BigInt(`0x${hex.slice(32)}`)];
}

/** An identifier (execution id, step id) as two field elements: the halves of the SHA-256 of its UTF-8. */
export function textFields(text: string): [bigint, bigint] {
  return digestFields(sha256Hex(utf8(text)));
}

/** Field elements travel as decimal strings (snarkjs's convention): exact, and JSON-safe. */
export function parseField(value: unknown, name: string): bigint {
  if (typeof value !== 'string' || !DECIMAL.test(value))
    throw new ZkError('invalid_config', `${name} must be a decimal string, not ${JSON.stringify(value)}`);
  const n = BigInt(value);
  if (n >= FIELD_MODULUS) throw new ZkError('invalid_config', `${name} is not below the field modulus`);
  return n;
}

export const decimal = (n: bigint): string => n.toString(10);
