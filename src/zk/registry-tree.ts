import { ZkError } from '../attest/zk/errors.js';
import type { PoseidonHash } from '../attest/zk/poseidon.js';
import type { ZkPublicKey } from './babyjub.js';

/** A registered key's leaf: Poseidon(Ax, Ay). An empty slot is 0. */
export function registryLeaf(h: PoseidonHash, key: ZkPublicKey): bigint {
  return h([BigInt(key.x), BigInt(key.y)]);
}

export interface RegistryPath {
  siblings: bigint[];
  /** 1 where the path's node is the right child. */
  pathBits: number[];
}

/**
 * The coordinator's worker registry as a binary Poseidon Merkle tree of fixed depth, leaves in
 * registration order (append-only, so a receipt's root names a prefix of it: the first `size` keys).
 */
export class RegistryTree {
  private readonly levels: bigint[][];
  private readonly zeros: bigint[];

  constructor(
    private readonly h: PoseidonHash,
    readonly depth: number,
    leaves: readonly bigint[],
  ) {
    if (leaves.length > 2 ** depth) {
      throw new ZkError(
        'invalid_config',
        `the registry holds ${leaves.length} keys; a tree of depth ${depth} holds at most ${2 ** depth}: set up a circuit with a deeper registry`,
      );
    }
    // Empty subtrees hash to a known value per level, so only the occupied part is computed.
    const zeros = [0n];
    for (let i = 0; i < depth; i++) zeros.push(h([zeros[i]!, zeros[i]!]));
    this.levels = [leaves.slice()];
    for (let level = 0; level < depth; level++) {
      const nodes = this.levels[level]!;
      const next: bigint[] = [];
      for (let i = 0; i < nodes.length; i += 2) next.push(h([nodes[i]!, nodes[i + 1] ?? zeros[level]!]));
      if (next.length === 0) next.push(zeros[level + 1]!);
      this.levels.push(next);
    }
    this.zeros = zeros;
  }

  get size(): number {
    return this.levels[0]!.length;
  }

  get root(): bigint {
    return this.levels[this.depth]![0]!;
  }

  /** The leaf at `index`; a missing one is an unregistered key. */
  leaf(index: number): bigint {
    const leaf = Number.isInteger(index) && index >= 0 ? this.levels[0]![index] : undefined;
    if (leaf === undefined)
      throw new ZkError('unregistered_key', `no registry leaf ${index} (the registry holds ${this.size})`);
    return leaf;
  }

  path(index: number): RegistryPath {
    this.leaf(index);
    const siblings: bigint[] = [];
    const pathBits: number[] = [];
    let i = index;
    for (let level = 0; level < this.depth; level++) {
      siblings.push(this.levels[level]![i ^ 1] ?? this.zeros[level]!);
      pathBits.push(i & 1);
      i >>= 1;
    }
    return { siblings, pathBits };
  }
}
