import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decimal } from '../../../src/attest/zk/fields.js';
import { ZkSigner, loadEddsa, parseZkPublicKey, verifyZkSignature } from '../../../src/zk/babyjub.js';
import { deriveZkPublicKey } from '../../../src/zk/babyjub-public-key.js';

describe('a Baby Jubjub public key derived without circomlibjs', () => {
  it("equals circomlibjs's prv2pub for random keys and for the edge keys", async () => {
    const eddsa = await loadEddsa();
    const keys = [
      ...Array.from({ length: 24 }, () => new Uint8Array(randomBytes(32))),
      new Uint8Array(32),
      new Uint8Array(32).fill(0xff),
    ];
    for (const key of keys) {
      const [x, y] = eddsa.prv2pub(key);
      expect(deriveZkPublicKey(key), Buffer.from(key).toString('hex')).toEqual({
        x: decimal(eddsa.F.toObject(x)),
        y: decimal(eddsa.F.toObject(y)),
      });
    }
  });

  it('is a point on the curve that verifies the signatures the private key makes', async () => {
    const signer = ZkSigner.generate();
    expect(parseZkPublicKey(signer.publicKey)).toEqual(signer.publicKey);
    const signature = await signer.sign(42n);
    expect(await verifyZkSignature(signer.publicKey, 42n, signature)).toBe(true);
    expect(await verifyZkSignature(ZkSigner.generate().publicKey, 42n, signature)).toBe(false);
  });
});
