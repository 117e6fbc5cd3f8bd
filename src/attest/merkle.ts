/**
 * RFC 6962 / RFC 9162 Merkle tree hashing, proof generation and proof verification.
 *
 * Indices and sizes are JavaScript numbers up to 2^53, so nothing here uses the 32-bit bitwise operators:
 * halving is Math.floor(x / 2) and a low bit is x % 2, both exact for every safe integer.
 *
 * Proof generation never sees the leaves. It asks a caller-supplied `subtree(start, end)` for MTH(D[start:end]),
 * and it only ever asks for *aligned complete subtrees*: `end - start` is a power of two 2^k and `start` is a
 * multiple of 2^k. Those are exactly the interior nodes of the tree, which a store can keep (or compute from the
 * nodes below) cheaply. Any other range a proof needs, such as the right edge of a tree whose size is not a
 * power of two, is computed here by splitting it at the largest power of two below its length and combining the
 * halves with nodeHash, as RFC 6962 §2.1 defines MTH. Within one proof computation every range is requested at
 * most once.
 */
import { concatBytes, equalBytes } from './bytes.js';
import { sha256 } from './digest.js';
import { AttestError } from './errors.js';

const HASH_BYTES = 32;
const LEAF_PREFIX = new Uint8Array([0x00]);
const NODE_PREFIX = new Uint8Array([0x01]);

/** The leaf hash of RFC 6962 §2.1: SHA-256(0x00 || data). The prefix keeps a leaf from posing as a node. */
export function leafHash(data: Uint8Array): Uint8Array {
  return sha256(concatBytes(LEAF_PREFIX, data));
}

/** The interior node hash of RFC 6962 §2.1: SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(concatBytes(NODE_PREFIX, left, right));
}

/** MTH({}) = SHA-256 of the empty string: the root of a tree with no leaves. */
export const EMPTY_ROOT: Uint8Array = sha256(new Uint8Array(0));

/** For n >= 2: the largest power of two strictly less than n (the `k` of RFC 6962 §2.1). */
export function largestPowerOfTwoBelow(n: number): number {
  if (!Number.isSafeInteger(n) || n < 2) {
    throw new AttestError('invalid_proof', `largestPowerOfTwoBelow needs a whole number >= 2, not ${n}`);
  }
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  if (n < 1) return false;
  while (n % 2 === 0) n /= 2;
  return n === 1;
}

function checkHash(hash: Uint8Array, what: string): void {
  if (!(hash instanceof Uint8Array) || hash.length !== HASH_BYTES) {
    const size = hash instanceof Uint8Array ? `${hash.length} bytes` : typeof hash;
    throw new AttestError('invalid_proof', `${what} is ${size}; a SHA-256 hash is ${HASH_BYTES} bytes`);
  }
}

function checkCount(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new AttestError('invalid_proof', `${what} must be a whole number from 0 to 2^53 - 1, not ${n}`);
  }
}

/**
 * MTH over leaves that are already hashed (RFC 6962 §2.1); [] gives EMPTY_ROOT. Computed level by level,
 * carrying an unpaired last node up unchanged, which yields the same tree as the recursive split at the largest
 * power of two, without recursion.
 */
export function merkleRoot(leafHashes: readonly Uint8Array[]): Uint8Array {
  if (leafHashes.length === 0) return EMPTY_ROOT.slice();
  leafHashes.forEach((hash, i) => checkHash(hash, `leaf hash ${i}`));
  let level: Uint8Array[] = leafHashes.slice();
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  return level[0]!.slice();
}

/** MTH(D[start:end]) of a tree, supplied by the caller (a store, or memory). */
export type SubtreeHash = (start: number, end: number) => Promise<Uint8Array> | Uint8Array;

/**
 * A SubtreeHash over leaf hashes held in memory. It answers any range 0 <= start <= end <= length, in time
 * linear in the range. The array is copied, so later changes to it do not change the answers.
 */
export function inMemorySubtree(leafHashes: readonly Uint8Array[]): SubtreeHash {
  const leaves = leafHashes.slice();
  return (start: number, end: number): Uint8Array => {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end > leaves.length) {
      throw new AttestError(
        'invalid_proof',
        `subtree range [${start}, ${end}) is outside a tree of ${leaves.length} leaves`,
      );
    }
    return merkleRoot(leaves.slice(start, end));
  };
}

/**
 * MTH(D[start:end]) for any range whose start is aligned to the largest power of two below its length (every
 * range the RFC 6962 recursions produce is), asking `subtree` only for aligned power-of-two ranges and each of
 * those at most once.
 */
function rangeHasher(subtree: SubtreeHash): (start: number, end: number) => Promise<Uint8Array> {
  const memo = new Map<string, Promise<Uint8Array>>();
  const hashOf = (start: number, end: number): Promise<Uint8Array> => {
    const key = `${start}:${end}`;
    let hash = memo.get(key);
    if (hash === undefined) {
      hash = compute(start, end);
      memo.set(key, hash);
    }
    return hash;
  };
  const compute = async (start: number, end: number): Promise<Uint8Array> => {
    const length = end - start;
    if (length < 1) throw new AttestError('invalid_proof', `empty subtree range [${start}, ${end})`);
    if (isPowerOfTwo(length) && start % length === 0) {
      const hash = await subtree(start, end);
      checkHash(hash, `subtree(${start}, ${end})`);
      return hash;
    }
    // Not a complete aligned subtree: MTH splits it at the largest power of two below its length. (A
    // power-of-two range that is not aligned, which the proofs below never need, splits in half the same way.)
    const k = isPowerOfTwo(length) ? length / 2 : largestPowerOfTwoBelow(length);
    const [left, right] = await Promise.all([hashOf(start, start + k), hashOf(start + k, end)]);
    return nodeHash(left, right);
  };
  return hashOf;
}

/**
 * The audit path PATH(m, D[n]) of RFC 6962 §2.1.1 for the leaf at `index` in the tree of the first `size` leaves,
 * leaf level first. Every call to `subtree` is for an aligned complete subtree (see the top of this file).
 */
export async function inclusionProof(index: number, size: number, subtree: SubtreeHash): Promise<Uint8Array[]> {
  checkCount(index, 'leaf index');
  checkCount(size, 'tree size');
  if (index >= size) throw new AttestError('invalid_proof', `leaf index ${index} is not in a tree of ${size} leaves`);
  const hashOf = rangeHasher(subtree);
  // Walk down from the root; the sibling met at each level joins the path, which RFC 6962 lists bottom-up.
  const siblings: Promise<Uint8Array>[] = [];
  let lo = 0;
  let hi = size;
  while (hi - lo > 1) {
    const k = largestPowerOfTwoBelow(hi - lo);
    if (index < lo + k) {
      siblings.push(hashOf(lo + k, hi));
      hi = lo + k;
    } else {
      siblings.push(hashOf(lo, lo + k));
      lo += k;
    }
  }
  return (await Promise.all(siblings)).reverse();
}

/**
 * The consistency proof PROOF(m, D[n]) of RFC 6962 §2.1.2 between the tree of the first `size1` leaves and the
 * tree of the first `size2` leaves; [] when size1 is 0 or equals size2. Every call to `subtree` is for an aligned
 * complete subtree (see the top of this file).
 */
export async function consistencyProof(size1: number, size2: number, subtree: SubtreeHash): Promise<Uint8Array[]> {
  checkCount(size1, 'size1');
  checkCount(size2, 'size2');
  if (size1 > size2)
    throw new AttestError('invalid_proof', `size1 ${size1} is larger than size2 ${size2}: a log only grows`);
  if (size1 === 0 || size1 === size2) return [];
  const hashOf = rangeHasher(subtree);
  // SUBPROOF(m, D[lo:hi], complete) unrolled: `size1` stays the absolute end of the old tree inside [lo, hi).
  const path: Promise<Uint8Array>[] = [];
  let lo = 0;
  let hi = size2;
  let complete = true;
  while (hi !== size1) {
    const k = largestPowerOfTwoBelow(hi - lo);
    if (size1 - lo <= k) {
      path.push(hashOf(lo + k, hi));
      hi = lo + k;
    } else {
      path.push(hashOf(lo, lo + k));
      lo += k;
      complete = false;
    }
  }
  // The old tree's last subtree is only sent when the verifier cannot take it from root1.
  if (!complete) path.push(hashOf(lo, hi));
  return (await Promise.all(path)).reverse();
}

/**
 * The root that an inclusion proof leads to (RFC 9162 §2.1.3.2). Throws AttestError('invalid_proof') when the
 * proof cannot be right whatever the root: index >= size, a proof of the wrong length for the index and size, or
 * a hash that is not 32 bytes.
 */
export function rootFromInclusionProof(
  index: number,
  size: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
): Uint8Array {
  checkCount(index, 'leaf index');
  checkCount(size, 'tree size');
  if (index >= size) throw new AttestError('invalid_proof', `leaf index ${index} is not in a tree of ${size} leaves`);
  checkHash(leafHash, 'the leaf hash');
  proof.forEach((hash, i) => checkHash(hash, `inclusion proof element ${i}`));
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) {
      throw new AttestError(
        'invalid_proof',
        `the inclusion proof has ${proof.length} hashes, more than leaf ${index} of a tree of ${size} needs`,
      );
    }
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      // On the right edge of a smaller-than-full subtree the node has no right sibling: skip those levels.
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) {
    throw new AttestError(
      'invalid_proof',
      `the inclusion proof has ${proof.length} hashes, fewer than leaf ${index} of a tree of ${size} needs`,
    );
  }
  return r;
}

/** True when `proof` shows the leaf with hash `leafHash` at `index` in the tree of `size` leaves with root `root`. */
export function verifyInclusion(
  index: number,
  size: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  let computed: Uint8Array;
  try {
    computed = rootFromInclusionProof(index, size, leafHash, proof);
  } catch (error) {
    if (error instanceof AttestError) return false;
    throw error;
  }
  return equalBytes(computed, root);
}

/**
 * True when `proof` shows that the tree of `size2` leaves with root `root2` extends the tree of `size1` leaves with
 * root `root1` (RFC 9162 §2.1.4.2). Equal sizes need an empty proof and equal roots; size1 = 0 needs an empty
 * proof (every tree extends the empty one); anything else needs a non-empty proof of 32-byte hashes.
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): boolean {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 0 || size1 > size2) return false;
  if (!proof.every((hash) => hash instanceof Uint8Array && hash.length === HASH_BYTES)) return false;
  if (size1 === size2) return proof.length === 0 && equalBytes(root1, root2);
  if (size1 === 0) return proof.length === 0;
  if (proof.length === 0 || root1.length !== HASH_BYTES || root2.length !== HASH_BYTES) return false;
  // A proof for a tree of size2 <= 2^53 never needs more than about 2 * 53 hashes; refuse absurd ones early.
  if (proof.length > 128) return false;

  // When the old tree is a complete subtree its root is the first node of the path, and the proof omits it.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : proof;
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equalBytes(fr, root1) && equalBytes(sr, root2);
}
