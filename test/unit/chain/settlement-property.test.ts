import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashTypedData } from 'viem';
import {
  SETTLEMENT_DOMAIN_NAME,
  orderMessage,
  orderTypedData,
  settlementMessage,
  settlementTypedData,
  verityDomain,
} from '../../../src/chain/typed-data.js';
import { balanceOf, bindPayee, chainFixture, testAccount } from '../../support/chain-fixture.js';

const PAYEE_ACCOUNTS = [0, 1, 2].map((i) => testAccount(`property payee ${i}`));
const PAYEES = PAYEE_ACCOUNTS.map((account) => account.address);
// Four revisions of at most 250,000 per payee each stay within it.
const MAX_AMOUNT = 3_000_000n;

/**
 * Revisions of one execution, each with cumulative amounts per payee that never go down (what a retry that
 * only adds work produces), of which an arbitrary subset reaches the chain, in order. Whatever the subset,
 * each payee must end with the latest settled revision's amount and the escrow must have spent their sum.
 */
const revisions = fc
  .array(fc.tuple(fc.nat(250_000), fc.nat(250_000), fc.nat(250_000)), { minLength: 1, maxLength: 4 })
  .map((steps) => {
    const cumulative = [0n, 0n, 0n];
    return steps.map((step) => step.map((add, i) => (cumulative[i] = (cumulative[i] ?? 0n) + BigInt(add))));
  });

describe('VeritySettlement: cumulative payouts over revisions (property)', () => {
  it('any increasing subset of revisions pays each payee the latest settled amount, once', async () => {
    await fc.assert(
      fc.asyncProperty(revisions, fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), async (revs, submitted) => {
        const f = await chainFixture();
        for (const [i, account] of PAYEE_ACCOUNTS.entries()) await bindPayee(f, account, `worker:property-${i}`);
        const domain = verityDomain(SETTLEMENT_DOMAIN_NAME, f.chain.chainId, f.settlement.address);
        const order = orderMessage({
          listingId: 'listing-property',
          workflowDigest: 'f'.repeat(64),
          payer: f.accounts.payer.address,
          token: f.usd.address,
          maxAmount: MAX_AMOUNT,
          deadline: f.chain.now + 3600n,
          nonce: 1,
        });
        await f.chain.send(f.settlement, 'deposit', [order, MAX_AMOUNT], f.accounts.payer.address);
        const orderSig = await f.accounts.payer.signTypedData(orderTypedData(domain, order));
        const orderDigest = hashTypedData(orderTypedData(domain, order));
        let latest: bigint[] = [0n, 0n, 0n];
        for (const [i, amounts] of revs.entries()) {
          // The last revision always reaches the chain; earlier ones only when the coin says so.
          if (i < revs.length - 1 && !submitted[i]) continue;
          const s = settlementMessage({
            executionId: 'exec-property',
            revision: i + 1,
            receiptDigest: (i + 1).toString(16).repeat(64),
            order,
            orderDigest,
            payouts: PAYEES.map((payee, j) => ({ payee, amount: amounts[j] ?? 0n })),
          });
          const attestorSig = await f.accounts.attestor.signTypedData(settlementTypedData(domain, s));
          await f.chain.send(f.settlement, 'settle', [order, orderSig, s, attestorSig], f.accounts.stranger.address);
          latest = amounts;
        }
        for (const [j, payee] of PAYEES.entries()) expect(await balanceOf(f, f.usd, payee)).toBe(latest[j]);
        const spent = latest.reduce((a, b) => a + b, 0n);
        expect(await balanceOf(f, f.usd, f.settlement.address)).toBe(MAX_AMOUNT - spent);
      }),
      { numRuns: 12 },
    );
  });
});
