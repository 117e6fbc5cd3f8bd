import { SettlementError } from './errors.js';

/**
 * Exact integer money. Amounts are integer micro-units held in `number` at the edges (JSON, the store,
 * signed statements), where they must be safe integers; every product and sum goes through BigInt
 * because C·m or a sum of many costs can pass 2^53, and only results that fit come back as numbers.
 */

/** Basis points in one whole: 10⁴. */
export const BPS = 10_000n;

/** A non-negative safe integer as a BigInt, or a SettlementError naming what it is. */
export function amountOf(value: number, what: string): bigint {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new SettlementError(
      'invalid_amount',
      `${what} must be a non-negative safe integer (micro-units), got ${value}`,
      {
        context: { field: what },
      },
    );
  }
  return BigInt(value);
}

/** A BigInt result back into a safe integer (it may be negative: a posting), or a SettlementError. */
export function toSafe(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new SettlementError('invalid_amount', `${what} is ${value}, beyond the safe integer range`, {
      context: { field: what },
    });
  }
  return Number(value);
}

/**
 * ⌊a·b/d⌋ for non-negative a, b and positive d. BigInt division truncates toward zero, which is the
 * floor on non-negative values: the only kind the money rules floor.
 */
export function mulDivFloor(a: bigint, b: bigint, d: bigint): bigint {
  return (a * b) / d;
}

/** ⌈a/d⌉ for non-negative a and positive d. */
export function divCeil(a: bigint, d: bigint): bigint {
  return (a + d - 1n) / d;
}

export const minBig = (a: bigint, b: bigint): bigint => (a < b ? a : b);
export const maxBig = (a: bigint, b: bigint): bigint => (a > b ? a : b);
