import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../../src/attest/bytes.js';
import { AttestError } from '../../../src/attest/errors.js';
import {
  EMPTY_ROOT,
  consistencyProof,
  inMemorySubtree,
  inclusionProof,
  largestPowerOfTwoBelow,
  leafHash,
  merkleRoot,
  nodeHash,
  rootFromInclusionProof,
  verifyConsistency,
  verifyInclusion,
} from '../../../src/attest/merkle.js';

// Known-answer vectors of transparency-dev/merkle (proof/verify_test.go), themselves from RFC 6962 test data.
const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(
  fromHex,
);
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
].map(fromHex);

/** Leaf numbers are 1-based as in the source; proofs are leaf level first. */
const INCLUSION: { leaf: number; size: number; proof: string[] }[] = [
  { leaf: 1, size: 1, proof: [] },
  {
    leaf: 1,
    size: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    leaf: 6,
    size: 8,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  { leaf: 3, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  {
    leaf: 2,
    size: 5,
    proof: [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
];

const CONSISTENCY: { size1: number; size2: number; proof: string[] }[] = [
  { size1: 1, size2: 1, proof: [] },
  {
    size1: 1,
    size2: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    size1: 6,
    size2: 8,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  {
    size1: 2,
    size2: 5,
    proof: [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
  {
    size1: 6,
    size2: 7,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];

const LEAF_HASHES = LEAVES.map((data) => leafHash(data));
const SOME_HASH = fromHex('abacaba000000000000000000000000000000000000000000060061e00123456');
const hex = (hashes: readonly Uint8Array[]): string[] => hashes.map(toHex);
const rootOf = (size: number): Uint8Array => ROOTS[size - 1]!;

/** n XOR 2 without 32-bit bitwise operators: toggle the bit worth 2. */
function xor2(n: number): number {
  return Math.floor(n / 2) % 2 === 1 ? n - 2 : n + 2;
}

function flipBit(proof: readonly Uint8Array[], element: number, bit: number): Uint8Array[] {
  return proof.map((hash, i) => {
    if (i !== element) return hash;
    const copy = hash.slice();
    copy[Math.floor(bit / 8)]! ^= 1 << (bit % 8);
    return copy;
  });
}

/** Every single-bit change of every element: 256 probes per hash. */
function everyBitFlip(proof: readonly Uint8Array[]): { desc: string; proof: Uint8Array[] }[] {
  const out: { desc: string; proof: Uint8Array[] }[] = [];
  proof.forEach((hash, element) => {
    for (let bit = 0; bit < hash.length * 8; bit++)
      out.push({ desc: `proof[${element}] bit ${bit}`, proof: flipBit(proof, element, bit) });
  });
  return out;
}

interface InclusionProbe {
  desc: string;
  index: number;
  size: number;
  leaf: Uint8Array;
  proof: readonly Uint8Array[];
  root: Uint8Array;
}

function inclusionProbes(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): InclusionProbe[] {
  const probe = (desc: string, changes: Partial<Omit<InclusionProbe, 'desc'>>): InclusionProbe => ({
    desc,
    index,
    size,
    leaf,
    proof,
    root,
    ...changes,
  });
  const probes = [
    probe('index - 1', { index: index - 1 }),
    probe('index + 1', { index: index + 1 }),
    probe('index ^ 2', { index: xor2(index) }),
    probe('size * 2', { size: size * 2 }),
    probe('size / 2', { size: Math.floor(size / 2) }),
    probe('wrong leaf hash', { leaf: leafHash(new TextEncoder().encode('WrongLeaf')) }),
    probe('wrong leaf length', { leaf: new TextEncoder().encode('WrongLeaf') }),
    probe('empty-tree root', { root: EMPTY_ROOT }),
    probe('random root', { root: SOME_HASH }),
    probe('trailing empty element', { proof: [...proof, new Uint8Array(0)] }),
    probe('trailing root', { proof: [...proof, root] }),
    probe('preceding empty element', { proof: [new Uint8Array(0), ...proof] }),
    probe('preceding root', { proof: [root, ...proof] }),
    ...everyBitFlip(proof).map(({ desc, proof: flipped }) => probe(desc, { proof: flipped })),
  ];
  if (proof.length > 0) probes.push(probe('last element removed', { proof: proof.slice(0, -1) }));
  if (proof.length > 1) probes.push(probe('element inserted', { proof: [proof[0]!, SOME_HASH, ...proof.slice(1)] }));
  return probes;
}

interface ConsistencyProbe {
  desc: string;
  size1: number;
  size2: number;
  proof: readonly Uint8Array[];
  root1: Uint8Array;
  root2: Uint8Array;
}

function consistencyProbes(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): ConsistencyProbe[] {
  const probe = (desc: string, changes: Partial<Omit<ConsistencyProbe, 'desc'>>): ConsistencyProbe => ({
    desc,
    size1,
    size2,
    proof,
    root1,
    root2,
    ...changes,
  });
  const wrongRoot = new TextEncoder().encode('WrongRoot');
  const garbage = new Uint8Array(0);
  const probes = [
    probe('size1 - 1', { size1: size1 - 1 }),
    probe('size1 + 1', { size1: size1 + 1 }),
    probe('size1 ^ 2', { size1: xor2(size1) }),
    probe('size2 * 2', { size2: size2 * 2 }),
    probe('size2 / 2', { size2: Math.floor(size2 / 2) }),
    probe('wrong root1', { root1: wrongRoot }),
    probe('wrong root2', { root2: wrongRoot }),
    probe('wrong root1 (32 bytes)', { root1: SOME_HASH }),
    probe('wrong root2 (32 bytes)', { root2: SOME_HASH }),
    probe('swapped roots', { root1: root2, root2: root1 }),
    probe('empty proof', { proof: [] }),
    probe('trailing garbage', { proof: [...proof, garbage] }),
    probe('trailing root1', { proof: [...proof, root1] }),
    probe('trailing root2', { proof: [...proof, root2] }),
    probe('preceding garbage', { proof: [garbage, ...proof] }),
    probe('preceding root1', { proof: [root1, ...proof] }),
    probe('preceding root2', { proof: [root2, ...proof] }),
    probe('preceding proof[0]', { proof: [proof[0]!, ...proof] }),
    probe('truncated proof', { proof: proof.slice(0, -1) }),
    ...everyBitFlip(proof).map(({ desc, proof: flipped }) => probe(desc, { proof: flipped })),
  ];
  return probes;
}

describe('RFC 6962 hashing', () => {
  it('hashes leaves and nodes with their domain-separation prefixes', () => {
    const data = new TextEncoder().encode('data');
    expect(toHex(leafHash(data))).toBe(
      createHash('sha256')
        .update(Buffer.from([0]))
        .update(data)
        .digest('hex'),
    );
    const [a, b] = [LEAF_HASHES[0]!, LEAF_HASHES[1]!];
    expect(toHex(nodeHash(a, b))).toBe(
      createHash('sha256')
        .update(Buffer.from([1]))
        .update(a)
        .update(b)
        .digest('hex'),
    );
    expect(toHex(nodeHash(a, b))).not.toBe(toHex(nodeHash(b, a)));
  });

  it('has the SHA-256 of the empty string as the empty root', () => {
    expect(toHex(EMPTY_ROOT)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(toHex(merkleRoot([]))).toBe(toHex(EMPTY_ROOT));
  });

  it('computes every known root of the first n leaves', () => {
    for (let n = 1; n <= 8; n++)
      expect(toHex(merkleRoot(LEAF_HASHES.slice(0, n))), `root of ${n}`).toBe(toHex(rootOf(n)));
  });

  it('refuses leaf hashes that are not 32 bytes', () => {
    expect(() => merkleRoot([LEAF_HASHES[0]!, new Uint8Array(31)])).toThrow(/leaf hash 1 is 31 bytes/);
  });

  it('finds the largest power of two strictly below n', () => {
    const cases: [number, number][] = [
      [2, 1],
      [3, 2],
      [4, 2],
      [5, 4],
      [8, 4],
      [9, 8],
      [2 ** 32, 2 ** 31],
      [2 ** 32 + 1, 2 ** 32],
      [Number.MAX_SAFE_INTEGER, 2 ** 52],
    ];
    for (const [n, k] of cases) expect(largestPowerOfTwoBelow(n), `n = ${n}`).toBe(k);
    expect(() => largestPowerOfTwoBelow(1)).toThrow(AttestError);
  });
});

describe('inclusion proofs (known answers)', () => {
  const subtree = inMemorySubtree(LEAF_HASHES);

  for (const { leaf, size, proof } of INCLUSION) {
    const index = leaf - 1;
    const expected = proof.map(fromHex);

    it(`generates, verifies and refuses tampering: leaf ${leaf} of ${size}`, async () => {
      expect(hex(await inclusionProof(index, size, subtree))).toEqual(proof);
      const root = rootOf(size);
      const leafHashValue = LEAF_HASHES[index]!;
      expect(toHex(rootFromInclusionProof(index, size, leafHashValue, expected))).toBe(toHex(root));
      expect(verifyInclusion(index, size, leafHashValue, expected, root)).toBe(true);
      const accepted = inclusionProbes(index, size, leafHashValue, expected, root)
        .filter((p) => verifyInclusion(p.index, p.size, p.leaf, p.proof, p.root))
        .map((p) => p.desc);
      expect(accepted).toEqual([]);
    });
  }

  it('makes a single-entry tree root equal its leaf hash, with an empty proof', async () => {
    const hash = leafHash(new TextEncoder().encode('data'));
    expect(toHex(merkleRoot([hash]))).toBe(toHex(hash));
    expect(await inclusionProof(0, 1, inMemorySubtree([hash]))).toEqual([]);
    expect(verifyInclusion(0, 1, hash, [], hash)).toBe(true);
    expect(verifyInclusion(0, 1, hash, [], new Uint8Array(0))).toBe(false);
    expect(verifyInclusion(0, 1, new Uint8Array(0), [], hash)).toBe(false);
    expect(verifyInclusion(0, 1, new Uint8Array(0), [], new Uint8Array(0))).toBe(false);
  });

  it('refuses an index that is not in the tree', () => {
    for (const [index, size] of [
      [0, 0],
      [1, 0],
      [1, 1],
      [2, 1],
      [8, 8],
    ] as const) {
      expect(verifyInclusion(index, size, SOME_HASH, [], EMPTY_ROOT), `${index} of ${size}`).toBe(false);
      expect(() => rootFromInclusionProof(index, size, SOME_HASH, [])).toThrow(/is not in a tree of/);
    }
    expect(verifyInclusion(-1, 8, LEAF_HASHES[0]!, [], rootOf(8))).toBe(false);
    expect(verifyInclusion(0.5, 8, LEAF_HASHES[0]!, [], rootOf(8))).toBe(false);
  });

  it('says what is wrong with an impossible proof', () => {
    const proof = INCLUSION[1]!.proof.map(fromHex);
    const error = (fn: () => unknown): AttestError => {
      try {
        fn();
      } catch (caught) {
        if (caught instanceof AttestError) return caught;
      }
      throw new Error('expected an AttestError');
    };
    const tooLong = error(() => rootFromInclusionProof(0, 8, LEAF_HASHES[0]!, [...proof, SOME_HASH]));
    expect(tooLong.code).toBe('invalid_proof');
    expect(tooLong.message).toMatch(/more than/);
    expect(error(() => rootFromInclusionProof(0, 8, LEAF_HASHES[0]!, proof.slice(1))).message).toMatch(/fewer than/);
    expect(
      error(() => rootFromInclusionProof(0, 8, LEAF_HASHES[0]!, [proof[0]!, new Uint8Array(33), proof[2]!])).message,
    ).toMatch(/element 1 is 33 bytes/);
    expect(error(() => rootFromInclusionProof(0, 8, new Uint8Array(0), proof)).message).toMatch(/leaf hash is 0 bytes/);
    expect(error(() => rootFromInclusionProof(9, 8, LEAF_HASHES[0]!, proof)).message).toMatch(/not in a tree/);
  });

  it('refuses to generate a proof for an index outside the tree', async () => {
    await expect(inclusionProof(8, 8, subtree)).rejects.toThrow(AttestError);
    await expect(inclusionProof(-1, 8, subtree)).rejects.toThrow(AttestError);
  });
});

describe('consistency proofs (known answers)', () => {
  const subtree = inMemorySubtree(LEAF_HASHES);

  for (const { size1, size2, proof } of CONSISTENCY) {
    const expected = proof.map(fromHex);

    it(`generates, verifies and refuses tampering: ${size1} -> ${size2}`, async () => {
      expect(hex(await consistencyProof(size1, size2, subtree))).toEqual(proof);
      const [root1, root2] = [rootOf(size1), rootOf(size2)];
      expect(verifyConsistency(size1, size2, expected, root1, root2)).toBe(true);
      if (expected.length === 0) return;
      const accepted = consistencyProbes(size1, size2, expected, root1, root2)
        .filter((p) => verifyConsistency(p.size1, p.size2, p.proof, p.root1, p.root2))
        .map((p) => p.desc);
      expect(accepted).toEqual([]);
    });
  }

  it('generates no proof from the empty tree or between equal sizes', async () => {
    expect(await consistencyProof(0, 5, subtree)).toEqual([]);
    expect(await consistencyProof(0, 0, subtree)).toEqual([]);
    expect(await consistencyProof(4, 4, subtree)).toEqual([]);
    await expect(consistencyProof(5, 4, subtree)).rejects.toThrow(/only grows/);
  });

  it('follows RFC 9162 for the trivial sizes', () => {
    const [r1, r2] = [new TextEncoder().encode("don't care 1"), new TextEncoder().encode("don't care 2")];
    const nonEmpty = [EMPTY_ROOT];
    const cases: {
      size1: number;
      size2: number;
      root1: Uint8Array;
      root2: Uint8Array;
      proof: Uint8Array[];
      ok: boolean;
    }[] = [
      { size1: 0, size2: 0, root1: r1, root2: r2, proof: [], ok: false },
      { size1: 1, size2: 1, root1: r1, root2: r2, proof: [], ok: false },
      { size1: 0, size2: 0, root1: r1, root2: r1, proof: [], ok: true },
      { size1: 0, size2: 1, root1: r1, root2: r2, proof: [], ok: true },
      { size1: 1, size2: 1, root1: r2, root2: r2, proof: [], ok: true },
      // The past is not consistent with the future.
      { size1: 1, size2: 0, root1: r1, root2: r2, proof: [], ok: false },
      { size1: 2, size2: 1, root1: r1, root2: r2, proof: [], ok: false },
      { size1: 8, size2: 6, root1: rootOf(8), root2: rootOf(6), proof: [], ok: false },
      // Between different non-empty sizes a proof is required.
      { size1: 1, size2: 2, root1: r1, root2: r2, proof: [], ok: false },
      { size1: 1, size2: 2, root1: rootOf(1), root2: rootOf(2), proof: [], ok: false },
      // Roots differ.
      { size1: 0, size2: 0, root1: EMPTY_ROOT, root2: r2, proof: [], ok: false },
      { size1: 1, size2: 1, root1: EMPTY_ROOT, root2: r2, proof: [], ok: false },
      // Roots match but the proof is not empty where it must be.
      { size1: 0, size2: 0, root1: EMPTY_ROOT, root2: EMPTY_ROOT, proof: nonEmpty, ok: false },
      { size1: 0, size2: 1, root1: EMPTY_ROOT, root2: EMPTY_ROOT, proof: nonEmpty, ok: false },
      { size1: 1, size2: 1, root1: EMPTY_ROOT, root2: EMPTY_ROOT, proof: nonEmpty, ok: false },
    ];
    for (const c of cases) {
      expect(verifyConsistency(c.size1, c.size2, c.proof, c.root1, c.root2), `${c.size1} -> ${c.size2} ${c.ok}`).toBe(
        c.ok,
      );
    }
  });

  it('refuses sizes that are not whole numbers', () => {
    const proof = CONSISTENCY[1]!.proof.map(fromHex);
    expect(verifyConsistency(1, 8, proof, rootOf(1), rootOf(8))).toBe(true);
    expect(verifyConsistency(1.5, 8, proof, rootOf(1), rootOf(8))).toBe(false);
    expect(verifyConsistency(1, Number.NaN, proof, rootOf(1), rootOf(8))).toBe(false);
    expect(verifyConsistency(-1, 8, proof, rootOf(1), rootOf(8))).toBe(false);
  });
});
