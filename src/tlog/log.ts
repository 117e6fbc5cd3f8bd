import { randomBytes } from 'node:crypto';
import { fromHex, toHex } from '../attest/bytes.js';
import { formatCheckpoint, signNote } from '../attest/checkpoint.js';
import type { Signer } from '../attest/keys.js';
import {
  consistencyProof,
  inclusionProof,
  largestPowerOfTwoBelow,
  leafHash,
  nodeHash,
  EMPTY_ROOT,
} from '../attest/merkle.js';
import type { SubtreeHash } from '../attest/merkle.js';
import type { LogNode } from '../store/records.js';
import type { Store, StoreReads, StoreTx } from '../store/store.js';
import { LogError } from './errors.js';

/**
 * The transparency log: an append-only RFC 6962 Merkle tree of receipts, stored as the hashes of its
 * complete subtrees (level 0 the leaf hashes, level l the subtrees of 2^l leaves). Appending writes at
 * most log2(n) + 1 nodes; a root or a proof reads O(log n) of them. Nothing stored is ever rewritten, so a
 * restart (or another replica) sees exactly the tree that was.
 */
export class TransparencyLog {
  private constructor(
    private readonly store: Store,
    readonly origin: string,
    private readonly signer: Signer,
  ) {}

  /** Opens the store's log; the first node to start names it (`origin`, default a random name). */
  static async open(store: Store, signer: Signer, origin?: string): Promise<TransparencyLog> {
    const name = await store.transaction((tx) =>
      tx.initLogOrigin(origin ?? `verity.local/log/${randomBytes(6).toString('hex')}`),
    );
    return new TransparencyLog(store, name, signer);
  }

  /** Appends a leaf inside the caller's transaction; returns its index. */
  async append(tx: StoreTx, leafData: Uint8Array): Promise<number> {
    const index = await tx.reserveLogIndex();
    let hash = leafHash(leafData);
    const nodes: LogNode[] = [{ level: 0, nodeIndex: index, hash: toHex(hash) }];
    // Each time the new leaf completes a subtree (its index is the right child), hash it with its left sibling.
    for (let level = 0, i = index; i % 2 === 1; level++, i = (i - 1) / 2) {
      const [left] = await tx.getLogNodes([{ level, nodeIndex: i - 1 }]);
      if (!left) throw new LogError('corrupt', `the log lacks node (${level}, ${i - 1}) below leaf ${index}`);
      hash = nodeHash(fromHex(left.hash), hash);
      nodes.push({ level: level + 1, nodeIndex: (i - 1) / 2, hash: toHex(hash) });
    }
    await tx.putLogNodes(nodes);
    return index;
  }

  async size(): Promise<number> {
    return this.store.read.getLogSize();
  }

  async root(size?: number): Promise<{ size: number; root: Uint8Array }> {
    const n = await this.checkedSize(size);
    return { size: n, root: n === 0 ? EMPTY_ROOT : await rangeHash(0, n, this.subtrees(this.store.read)) };
  }

  /** A C2SP checkpoint of the tree at `size` (default: now), signed by the coordinator's key. */
  async checkpoint(size?: number): Promise<{ size: number; root: Uint8Array; note: string }> {
    const { size: n, root } = await this.root(size);
    const body = formatCheckpoint({ origin: this.origin, size: n, rootHash: root, extensions: [] });
    return { size: n, root, note: signNote(body, this.origin, this.signer.publicKey, (m) => this.signer.sign(m)) };
  }

  async inclusionProof(index: number, size?: number): Promise<{ size: number; proof: string[] }> {
    const n = await this.checkedSize(size);
    if (!Number.isSafeInteger(index) || index < 0 || index >= n) {
      throw new LogError('out_of_range', `leaf ${index} is not in a tree of ${n} leaves`);
    }
    const proof = await inclusionProof(index, n, this.subtrees(this.store.read));
    return { size: n, proof: proof.map(toHex) };
  }

  async consistencyProof(size1: number, size2?: number): Promise<{ size1: number; size2: number; proof: string[] }> {
    const n = await this.checkedSize(size2);
    if (!Number.isSafeInteger(size1) || size1 < 0 || size1 > n) {
      throw new LogError('out_of_range', `size ${size1} is not between 0 and the tree size ${n}`);
    }
    const proof = await consistencyProof(size1, n, this.subtrees(this.store.read));
    return { size1, size2: n, proof: proof.map(toHex) };
  }

  private async checkedSize(size: number | undefined): Promise<number> {
    const current = await this.size();
    if (size === undefined) return current;
    if (!Number.isSafeInteger(size) || size < 0 || size > current) {
      throw new LogError('out_of_range', `the log has ${current} leaves; there is no tree of size ${size}`);
    }
    return size;
  }

  /** Hashes of aligned complete subtrees, read from the store (and memoized for one computation). */
  private subtrees(reads: StoreReads): SubtreeHash {
    const memo = new Map<string, Promise<Uint8Array>>();
    return (start, end) => {
      const width = end - start;
      const level = Math.log2(width);
      if (!Number.isInteger(level) || start % width !== 0) {
        throw new LogError('corrupt', `asked for a subtree [${start}, ${end}) that is not complete and aligned`);
      }
      const key = `${level}:${start / width}`;
      let hash = memo.get(key);
      if (!hash) {
        hash = reads.getLogNodes([{ level, nodeIndex: start / width }]).then(([node]) => {
          if (!node) throw new LogError('corrupt', `the log lacks node (${level}, ${start / width})`);
          return fromHex(node.hash);
        });
        memo.set(key, hash);
      }
      return hash;
    };
  }
}

/** MTH(D[start:end]) from aligned complete subtrees, splitting as RFC 6962 does. */
async function rangeHash(start: number, end: number, subtree: SubtreeHash): Promise<Uint8Array> {
  const width = end - start;
  if (Number.isInteger(Math.log2(width)) && start % width === 0) return subtree(start, end);
  const k = largestPowerOfTwoBelow(width);
  return nodeHash(await rangeHash(start, start + k, subtree), await rangeHash(start + k, end, subtree));
}
