import { afterAll, describe, expect, it } from 'vitest';
import { BabyJubPool } from '../../../src/zk/babyjub-pool.js';
import { ZkSigner, verifyZkSignature } from '../../../src/zk/babyjub.js';

/*
 * The thread pool that takes Baby Jubjub work off the event loop must answer exactly as the main-thread
 * code does: the same signatures, and the same refusals (it is what decides whether a leaf may be proven).
 */
const pool = new BabyJubPool(2);
afterAll(() => pool.close());

const privateKeyOf = (signer: ZkSigner) => new Uint8Array(Buffer.from(signer.privateKeyHex(), 'hex'));

describe('the Baby Jubjub thread pool', () => {
  it('makes the signature the main thread makes, and it verifies there', async () => {
    const signer = ZkSigner.generate();
    const signature = await pool.sign(privateKeyOf(signer), 1234n);
    expect(signature).toEqual(await signer.sign(1234n));
    expect(await verifyZkSignature(signer.publicKey, 1234n, signature)).toBe(true);
  }, 60_000);

  it('verifies a good signature and refuses every bad one, several at once', async () => {
    const signer = ZkSigner.generate();
    const other = ZkSigner.generate();
    const signature = await signer.sign(99n);
    const order = 2736030358979909402780800718157159386076813972158567259200215660948447373041n;
    const answers = await Promise.all([
      pool.verify(signer.publicKey, 99n, signature),
      pool.verify(signer.publicKey, 100n, signature),
      pool.verify(other.publicKey, 99n, signature),
      pool.verify(signer.publicKey, 99n, { ...signature, s: (BigInt(signature.s) + 1n).toString() }),
      // Malleated: S at or above the subgroup order.
      pool.verify(signer.publicKey, 99n, { ...signature, s: (BigInt(signature.s) + order).toString() }),
      // Not points on the curve, not field elements.
      pool.verify({ x: signer.publicKey.x, y: '5' }, 99n, signature),
      pool.verify(signer.publicKey, 99n, { ...signature, r8x: 'twelve' }),
    ]);
    expect(answers).toEqual([true, false, false, false, false, false, false]);
  }, 60_000);

  it('refuses work once closed', async () => {
    const closed = new BabyJubPool(1);
    await closed.close();
    await expect(closed.sign(new Uint8Array(32), 1n)).rejects.toThrow(/closed/);
  });
});
