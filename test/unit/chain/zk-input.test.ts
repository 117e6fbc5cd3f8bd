import { describe, expect, it } from 'vitest';
import { getAddress, zeroAddress, zeroHash } from 'viem';
import type { Hex } from 'viem';
import { IN_TOTO_PAYLOAD_TYPE, signEnvelope } from '../../../src/attest/dsse.js';
import { ZK_BUNDLE_MEDIA_TYPE } from '../../../src/attest/bundle.js';
import { statementBytes } from '../../../src/attest/statement.js';
import { zkStatement } from '../../../src/attest/zk/statement.js';
import type { ZkPredicate } from '../../../src/attest/zk/statement.js';
import type { BatchProof } from '../../../src/attest/zk/proof.js';
import { ChainError } from '../../../src/chain/errors.js';
import { orderMessage, settlementMessage } from '../../../src/chain/typed-data.js';
import { zkBatches } from '../../../src/chain/zk-batches.js';
import { readZkBundle } from '../../../src/chain/zk-bundle.js';
import type { ZkBundleProofs } from '../../../src/chain/zk-bundle.js';
import { parseBindingsFile } from '../../../src/cli/commands/chain-bind.js';
import { withZkProofs } from '../../../src/cli/commands/chain-input.js';
import type { SettleInput } from '../../../src/cli/commands/chain-input.js';
import { CliError } from '../../../src/cli/errors.js';
import { LocalSigner } from '../../../src/keys/local-signer.js';

/*
 * The CLI's zk and binding inputs, before anything is sent: a bundle of another execution, receipt, workflow
 * or result, an order without a verifier, malformed proofs or bindings are usage errors naming the field.
 */
const verifier = getAddress('0x' + '33'.repeat(20));
const account = getAddress('0x' + '44'.repeat(20));

function proof(batch: number, signals = 13): BatchProof {
  return {
    batch,
    proof: {
      pi_a: ['1', '2', '1'],
      pi_b: [
        ['3', '4'],
        ['5', '6'],
        ['1', '0'],
      ],
      pi_c: ['7', '8', '1'],
      protocol: 'groth16',
      curve: 'bn128',
    },
    publicSignals: Array.from({ length: signals }, (_, i) => String(i)),
  };
}

function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

describe('zkBatches', () => {
  it("takes a bundle's proofs in batch order, with pi_b's coordinates swapped for the precompile", () => {
    const batches = zkBatches([proof(1), proof(0)]);
    expect(batches).toHaveLength(2);
    expect(batches[0]).toEqual({
      a: [1n, 2n],
      b: [
        [4n, 3n],
        [6n, 5n],
      ],
      c: [7n, 8n],
      signals: Array.from({ length: 13 }, (_, i) => BigInt(i)),
    });
  });

  it('refuses no proofs, a gap, a duplicate and the wrong number of public signals', () => {
    for (const proofs of [[], [proof(1)], [proof(0), proof(0)], [proof(0, 12)]]) {
      const error = thrown(() => zkBatches(proofs));
      expect(error).toBeInstanceOf(ChainError);
      expect((error as ChainError).code).toBe('invalid_value');
    }
  });
});

describe('withZkProofs', () => {
  const order = orderMessage({
    listingId: 'lst_zk',
    workflowDigest: 'a'.repeat(64),
    payer: account,
    token: account,
    zkVerifier: verifier,
    maxAmount: 100,
    deadline: 1_800_000_000,
    nonce: 1,
  });
  const input = (o = order, resultDigest?: string): SettleInput => ({
    order: o,
    orderSignature: `0x${'ab'.repeat(65)}`,
    settlement: settlementMessage({
      executionId: 'exe_zk',
      revision: 1,
      receiptDigest: 'b'.repeat(64),
      resultDigest,
      order: o,
      orderDigest: `0x${'cd'.repeat(32)}`,
      payouts: [{ payee: account, amount: 10 }],
    }),
  });
  const zk: ZkBundleProofs = {
    executionId: 'exe_zk',
    revision: 1,
    receiptDigest: 'b'.repeat(64),
    resultDigest: 'c'.repeat(64),
    workflowDigest: 'a'.repeat(64),
    batches: zkBatches([proof(0)]),
  };
  const usage = (run: () => unknown) => {
    const error = thrown(run);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(2);
    return error.message;
  };

  it("signs the bundle's result digest into the settlement and passes the id's text and the batches", () => {
    const { settlement, proofs } = withZkProofs(input(), zk);
    expect(settlement.resultDigest).toBe(`0x${'c'.repeat(64)}`);
    expect(proofs).toEqual({ executionId: 'exe_zk', batches: zk.batches });
  });

  it('refuses an order without a verifier, and a bundle of another execution, receipt, workflow or result', () => {
    expect(usage(() => withZkProofs(input({ ...order, zkVerifier: zeroAddress }), zk))).toContain(
      '--zk-bundle: the order pins no zkVerifier',
    );
    expect(usage(() => withZkProofs(input(), { ...zk, executionId: 'exe_other' }))).toContain(
      '--zk-bundle: its proofs are of execution exe_other',
    );
    expect(usage(() => withZkProofs(input(), { ...zk, receiptDigest: 'e'.repeat(64) }))).toContain(
      `its zk statement is about receipt ${'e'.repeat(64)}`,
    );
    expect(usage(() => withZkProofs(input(), { ...zk, workflowDigest: 'f'.repeat(64) }))).toContain(
      "is not the order's",
    );
    expect(usage(() => withZkProofs(input(order, 'd'.repeat(64)), zk))).toContain(
      "is not the file's settlement.resultDigest",
    );
    expect(input().settlement.resultDigest).toBe(zeroHash);
  });
});

describe('readZkBundle', () => {
  const coordinator = LocalSigner.generate();
  const predicate: ZkPredicate = {
    executionId: 'exe_zk',
    revision: 1,
    workflow: { id: 'wf', version: 1, digest: 'a'.repeat(64) },
    receiptDigest: 'b'.repeat(64),
    resultDigest: 'c'.repeat(64),
    completedAt: '2026-12-07T00:00:00.000Z',
    steps: ['only'],
    zk: {
      circuit: 'verity-batch-v1-b1-d2',
      verificationKeyDigest: '0'.repeat(64),
      batchSize: 1,
      registryDepth: 2,
      registryRoot: '5',
      registrySize: 1,
      commitment: '6',
      stepIdsCommitment: '7',
    },
  };
  const bundle = (signer = coordinator) => ({
    mediaType: ZK_BUNDLE_MEDIA_TYPE,
    zk: {
      statement: signEnvelope(IN_TOTO_PAYLOAD_TYPE, statementBytes(zkStatement(predicate)), signer),
      verificationKey: {},
      proofs: [proof(0)],
    },
  });

  it("reads the coordinator's zk statement and the proofs, from a zk-only or a full bundle", async () => {
    const read = await readZkBundle(bundle(), coordinator.publicKeyPem);
    expect(read).toMatchObject({ executionId: 'exe_zk', resultDigest: 'c'.repeat(64), workflowDigest: 'a'.repeat(64) });
    expect(read.batches).toHaveLength(1);
    const { mediaType: _, ...rest } = bundle();
    expect((await readZkBundle({ mediaType: 'other', ...rest }, coordinator.publicKeyPem)).executionId).toBe('exe_zk');
  });

  it('refuses a bundle without a zk part and a zk statement another key signed', async () => {
    const noZk = await readZkBundle({ mediaType: ZK_BUNDLE_MEDIA_TYPE }, coordinator.publicKeyPem).catch(
      (e: unknown) => e,
    );
    expect((noZk as ChainError).code).toBe('invalid_value');
    const foreign = await readZkBundle(bundle(LocalSigner.generate()), coordinator.publicKeyPem).catch(
      (e: unknown) => e,
    );
    expect((foreign as ChainError).code).toBe('untrusted_statement');
    expect((foreign as Error).message).toContain("the zk statement is not signed by this coordinator's key");
  });
});

describe('parseBindingsFile', () => {
  const signature: Hex = `0x${'ab'.repeat(65)}`;

  it('converts principals to bytes32 and checks addresses and signatures, naming the entry', () => {
    const [binding] = parseBindingsFile({
      bindings: [{ principal: 'acme', address: account.toLowerCase(), signature }],
    });
    expect(binding).toMatchObject({ name: 'acme', message: { account }, signature });
    const message = (json: unknown) => {
      const error = thrown(() => parseBindingsFile(json));
      expect(error).toBeInstanceOf(CliError);
      return error.message;
    };
    expect(message({})).toContain('--file: bindings');
    expect(message({ bindings: [{ principal: 'acme', address: 'nope', signature }] })).toContain(
      '--file: bindings.0: nope is not an address',
    );
    expect(message({ bindings: [{ principal: 'acme', address: account, signature: '0x12' }] })).toContain(
      '--file: bindings.0.signature',
    );
  });
});
