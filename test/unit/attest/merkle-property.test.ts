import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../../src/attest/bytes.js';
import type { SubtreeHash } from '../../../src/attest/merkle.js';
import {
  consistencyProof,
  inMemorySubtree,
  inclusionProof,
  leafHash,
  merkleRoot,
  verifyConsistency,
  verifyInclusion,
} from '../../../src/attest/merkle.js';

const MAX_LEAVES = 300;

/** Leaf hashes of a tree of n leaves; leaf i's data is its index, so every leaf differs. */
function leafHashes(n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => leafHash(new TextEncoder().encode(`leaf ${i}`)));
}

const ALL_LEAVES = leafHashes(MAX_LEAVES);
/** Roots of every prefix, computed independently of the proof code. */
const PREFIX_ROOTS = Array.from({ length: MAX_LEAVES + 1 }, (_, n) => merkleRoot(ALL_LEAVES.slice(0, n)));

function isPowerOfTwo(n: number): boolean {
  let m = n;
  while (m > 1 && m % 2 === 0) m /= 2;
  return m === 1;
}

/**
 * A SubtreeHash that, like a store, can only answer aligned complete subtrees: it throws for anything else and
 * records each call. It answers asynchronously, as a store would.
 */
function alignedOnly(leaves: readonly Uint8Array[], calls: string[]): SubtreeHash {
  const memory = inMemorySubtree(leaves);
  return async (start, end) => {
    const length = end - start;
    if (!isPowerOfTwo(length) || start % length !== 0) throw new Error(`unaligned subtree [${start}, ${end})`);
    calls.push(`${start}:${end}`);
    await Promise.resolve();
    return memory(start, end);
  };
}

function flipBit(proof: readonly Uint8Array[], element: number, bit: number): Uint8Array[] {
  return proof.map((hash, i) => {
    if (i !== element) return hash;
    const copy = hash.slice();
    copy[Math.floor(bit / 8)]! ^= 1 << (bit % 8);
    return copy;
  });
}

/** n leaves (1..300) held by the log, a size within it, and an index within that size. */
const inclusionCase = fc
  .integer({ min: 1, max: MAX_LEAVES })
  .chain((n) =>
    fc
      .integer({ min: 1, max: n })
      .chain((size) =>
        fc.record({ n: fc.constant(n), size: fc.constant(size), index: fc.integer({ min: 0, max: size - 1 }) }),
      ),
  );

/** n leaves held by the log and two sizes 0 <= size1 <= size2 <= n. */
const consistencyCase = fc
  .integer({ min: 1, max: MAX_LEAVES })
  .chain((n) =>
    fc
      .integer({ min: 0, max: n })
      .chain((size2) =>
        fc.record({ n: fc.constant(n), size2: fc.constant(size2), size1: fc.integer({ min: 0, max: size2 }) }),
      ),
  );

describe('Merkle proofs (properties)', () => {
  it('inclusion proofs verify against the prefix root and fail with any flipped bit', async () => {
    await fc.assert(
      fc.asyncProperty(inclusionCase, fc.nat(), fc.nat({ max: 255 }), async ({ n, size, index }, pick, bit) => {
        const proof = await inclusionProof(index, size, inMemorySubtree(ALL_LEAVES.slice(0, n)));
        const root = PREFIX_ROOTS[size]!;
        expect(verifyInclusion(index, size, ALL_LEAVES[index]!, proof, root)).toBe(true);
        if (proof.length > 0) {
          expect(verifyInclusion(index, size, ALL_LEAVES[index]!, flipBit(proof, pick % proof.length, bit), root)).toBe(
            false,
          );
        } else {
          expect(size).toBe(1);
        }
        // Another leaf of the same tree is not at this index.
        if (size > 1) expect(verifyInclusion(index, size, ALL_LEAVES[(index + 1) % size]!, proof, root)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('consistency proofs verify between the prefix roots and fail with any flipped bit', async () => {
    await fc.assert(
      fc.asyncProperty(consistencyCase, fc.nat(), fc.nat({ max: 255 }), async ({ n, size1, size2 }, pick, bit) => {
        const proof = await consistencyProof(size1, size2, inMemorySubtree(ALL_LEAVES.slice(0, n)));
        const [root1, root2] = [PREFIX_ROOTS[size1]!, PREFIX_ROOTS[size2]!];
        expect(verifyConsistency(size1, size2, proof, root1, root2)).toBe(true);
        if (size1 === 0 || size1 === size2) {
          expect(proof).toEqual([]);
          return;
        }
        expect(verifyConsistency(size1, size2, flipBit(proof, pick % proof.length, bit), root1, root2)).toBe(false);
        // A different old tree is not consistent with this proof.
        expect(verifyConsistency(size1, size2, proof, PREFIX_ROOTS[size1 - 1]!, root2)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('asks the subtree source only for aligned complete subtrees, each once, and gets the same proofs', async () => {
    await fc.assert(
      fc.asyncProperty(inclusionCase, consistencyCase, async (inc, con) => {
        const incCalls: string[] = [];
        const incLeaves = ALL_LEAVES.slice(0, inc.n);
        const viaAligned = await inclusionProof(inc.index, inc.size, alignedOnly(incLeaves, incCalls));
        const viaMemory = await inclusionProof(inc.index, inc.size, inMemorySubtree(incLeaves));
        expect(viaAligned.map(toHex)).toEqual(viaMemory.map(toHex));
        expect(new Set(incCalls).size).toBe(incCalls.length);

        const conCalls: string[] = [];
        const conLeaves = ALL_LEAVES.slice(0, con.n);
        const conAligned = await consistencyProof(con.size1, con.size2, alignedOnly(conLeaves, conCalls));
        const conMemory = await consistencyProof(con.size1, con.size2, inMemorySubtree(conLeaves));
        expect(conAligned.map(toHex)).toEqual(conMemory.map(toHex));
        expect(new Set(conCalls).size).toBe(conCalls.length);
      }),
      { numRuns: 300 },
    );
  });

  it('an aligned-only source really refuses other ranges (so the test above can fail)', async () => {
    const source = alignedOnly(ALL_LEAVES, []);
    await expect(Promise.resolve(source(4, 7))).rejects.toThrow(/unaligned/);
    await expect(Promise.resolve(source(2, 6))).rejects.toThrow(/unaligned/);
    expect(toHex(await source(4, 8))).toBe(toHex(merkleRoot(ALL_LEAVES.slice(4, 8))));
  });

  it('handles indices and sizes up to 2^53 - 1 without 32-bit truncation', async () => {
    // A sparse synthetic tree, hashed with node:crypto: the leaves at a few "special" indices are distinct and
    // every other leaf is the same, so the hash of any aligned subtree with no special leaf is known per height
    // and a subtree hash costs O(specials * height) rather than O(leaves).
    const hashNode = (left: Uint8Array, right: Uint8Array): Uint8Array =>
      new Uint8Array(
        createHash('sha256')
          .update(Buffer.from([1]))
          .update(left)
          .update(right)
          .digest(),
      );
    const hashLeaf = (text: string): Uint8Array =>
      new Uint8Array(
        createHash('sha256')
          .update(Buffer.from([0]))
          .update(text)
          .digest(),
      );
    const plain = [hashLeaf('plain')];
    for (let height = 1; height <= 53; height++) plain.push(hashNode(plain[height - 1]!, plain[height - 1]!));
    const heightOf = (length: number): number => {
      let height = 0;
      for (let m = length; m > 1; m /= 2) height++;
      return height;
    };
    const tree = (
      special: readonly number[],
    ): { aligned: SubtreeHash; rootOf: (end: number) => Uint8Array; leaf: (i: number) => Uint8Array } => {
      const leaf = (i: number): Uint8Array => (special.includes(i) ? hashLeaf(`leaf ${i}`) : plain[0]!);
      const aligned = (start: number, end: number): Uint8Array => {
        const length = end - start;
        if (!isPowerOfTwo(length) || start % length !== 0) throw new Error(`unaligned subtree [${start}, ${end})`);
        if (!special.some((i) => i >= start && i < end)) return plain[heightOf(length)]!;
        if (length === 1) return leaf(start);
        return hashNode(aligned(start, start + length / 2), aligned(start + length / 2, end));
      };
      const range = (start: number, end: number): Uint8Array => {
        const length = end - start;
        if (isPowerOfTwo(length)) return aligned(start, end);
        let k = 1;
        while (k * 2 < length) k *= 2;
        return hashNode(range(start, start + k), range(start + k, end));
      };
      return { aligned, rootOf: (end) => range(0, end), leaf };
    };

    const big = fc.integer({ min: 2, max: Number.MAX_SAFE_INTEGER });
    const fraction = fc.double({ min: 0, max: 1, noNaN: true });
    await fc.assert(
      fc.asyncProperty(big, fraction, fraction, async (size2, a, b) => {
        const index = Math.min(size2 - 1, Math.floor(a * size2));
        const size1 = Math.max(1, Math.min(size2 - 1, Math.floor(b * size2)));
        const { aligned, rootOf, leaf } = tree([index, size1 - 1, size2 - 1]);
        const root2 = rootOf(size2);

        const inclusion = await inclusionProof(index, size2, aligned);
        expect(inclusion.length).toBeLessThanOrEqual(53);
        expect(verifyInclusion(index, size2, leaf(index), inclusion, root2)).toBe(true);
        expect(verifyInclusion(index, size2, leaf(index), flipBit(inclusion, inclusion.length - 1, 7), root2)).toBe(
          false,
        );

        const consistency = await consistencyProof(size1, size2, aligned);
        expect(verifyConsistency(size1, size2, consistency, rootOf(size1), root2)).toBe(true);
        expect(
          verifyConsistency(size1, size2, flipBit(consistency, consistency.length - 1, 0), rootOf(size1), root2),
        ).toBe(false);
      }),
      { numRuns: 200 },
    );

    const max = Number.MAX_SAFE_INTEGER;
    const { aligned, rootOf, leaf } = tree([max - 1, 2 ** 32, 2 ** 32 + 1]);
    const proof = await inclusionProof(max - 1, max, aligned);
    expect(verifyInclusion(max - 1, max, leaf(max - 1), proof, rootOf(max))).toBe(true);
    // Indices that agree in their low 32 bits must not be confused.
    const high = await inclusionProof(2 ** 32 + 1, max, aligned);
    expect(verifyInclusion(2 ** 32 + 1, max, leaf(2 ** 32 + 1), high, rootOf(max))).toBe(true);
    expect(verifyInclusion(1, max, leaf(2 ** 32 + 1), high, rootOf(max))).toBe(false);
    const across = await consistencyProof(2 ** 32 + 2, max, aligned);
    expect(verifyConsistency(2 ** 32 + 2, max, across, rootOf(2 ** 32 + 2), rootOf(max))).toBe(true);
    expect(verifyConsistency(2, max, across, rootOf(2 ** 32 + 2), rootOf(max))).toBe(false);
  });

  it('computes a root equal to the recursive definition of RFC 6962 §2.1 (hashed with node:crypto)', () => {
    const mth = (hashes: readonly Uint8Array[]): Buffer => {
      if (hashes.length === 1) return Buffer.from(hashes[0]!);
      let k = 1;
      while (k * 2 < hashes.length) k *= 2;
      return createHash('sha256')
        .update(Buffer.from([1]))
        .update(mth(hashes.slice(0, k)))
        .update(mth(hashes.slice(k)))
        .digest();
    };
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_LEAVES }), (n) => {
        expect(toHex(PREFIX_ROOTS[n]!)).toBe(mth(ALL_LEAVES.slice(0, n)).toString('hex'));
      }),
      { numRuns: 100 },
    );
  });
});
