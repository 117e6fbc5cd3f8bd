import { describe, expect, it } from 'vitest';
import { ZkSigner, parseZkPublicKey, verifyZkSignature } from '../../../src/zk/babyjub.js';
import { loadPoseidon } from '../../../src/zk/poseidon.js';
import { RegistryTree, registryLeaf } from '../../../src/zk/registry-tree.js';

describe('the worker registry tree', () => {
  it('leads every leaf to the root along its path', async () => {
    const h = await loadPoseidon();
    const leaves = [11n, 22n, 33n];
    const tree = new RegistryTree(h, 3, leaves);
    expect(tree.size).toBe(3);
    leaves.forEach((leaf, index) => {
      const { siblings, pathBits } = tree.path(index);
      let node = leaf;
      siblings.forEach((sibling, level) => {
        node = pathBits[level] === 1 ? h([sibling, node]) : h([node, sibling]);
      });
      expect(node).toBe(tree.root);
    });
  });

  it('fills empty slots with zero subtrees', async () => {
    const h = await loadPoseidon();
    const z1 = h([0n, 0n]);
    expect(new RegistryTree(h, 2, [5n]).root).toBe(h([h([5n, 0n]), z1]));
    expect(new RegistryTree(h, 2, []).root).toBe(h([z1, z1]));
  });

  it('refuses more keys than the depth holds, and paths to leaves it does not have', async () => {
    const h = await loadPoseidon();
    expect(() => new RegistryTree(h, 1, [1n, 2n, 3n])).toThrow(/at most 2/);
    expect(() => new RegistryTree(h, 2, [1n]).path(1)).toThrow(/no registry leaf 1/);
  });
});

describe('Baby Jubjub keys', () => {
  it('sign step leaves that verify under their own key only', async () => {
    const signer = ZkSigner.generate();
    const other = ZkSigner.generate();
    const signature = await signer.sign(1234n);
    expect(await verifyZkSignature(signer.publicKey, 1234n, signature)).toBe(true);
    expect(await verifyZkSignature(signer.publicKey, 1235n, signature)).toBe(false);
    expect(await verifyZkSignature(other.publicKey, 1234n, signature)).toBe(false);
    expect(
      await verifyZkSignature(signer.publicKey, 1234n, { ...signature, s: (BigInt(signature.s) + 1n).toString() }),
    ).toBe(false);
  });

  it('refuses a malleated signature (S at or above the subgroup order)', async () => {
    const signer = ZkSigner.generate();
    const signature = await signer.sign(7n);
    const order = 2736030358979909402780800718157159386076813972158567259200215660948447373041n;
    expect(
      await verifyZkSignature(signer.publicKey, 7n, { ...signature, s: (BigInt(signature.s) + order).toString() }),
    ).toBe(false);
  });

  it('are checked to be on the curve when registered', () => {
    const signer = ZkSigner.generate();
    expect(parseZkPublicKey(signer.publicKey)).toEqual(signer.publicKey);
    expect(() => parseZkPublicKey({ x: signer.publicKey.x, y: '5' })).toThrow(/not a point on Baby Jubjub/);
    expect(() => parseZkPublicKey({ x: '1' })).toThrow(/zkPublicKey.y must be a decimal string/);
    expect(() => parseZkPublicKey('key')).toThrow(/must be an object/);
  });

  it('hash to registry leaves that differ per key', async () => {
    const h = await loadPoseidon();
    const [a, b] = [ZkSigner.generate(), ZkSigner.generate()];
    expect(registryLeaf(h, a.publicKey)).not.toBe(registryLeaf(h, b.publicKey));
  });
});
