import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle } from '../../../src/attest/bundle.js';
import { fromBase64, fromHex, toBase64, toHex } from '../../../src/attest/bytes.js';
import { parseNote, signNote } from '../../../src/attest/checkpoint.js';
import { LocalSigner } from '../../../src/keys/local-signer.js';
import { echo, startTestNode } from '../../support/node.js';
import type { TestNode } from '../../support/node.js';
import { bundleOf, clone, expectPassed, expectRejected, expectVerified, verify } from './support.js';

/** The transparency-log proof: the receipt's place in the log, and the signed checkpoint of the log. */
describe('tampering with the transparency-log proof', () => {
  let t: TestNode;
  let trusted: string;
  /** The 5th of 9 executions, bundled when the log had 9 leaves: its proof has several hashes. */
  let fixture: Bundle;
  /** The same execution bundled when the log had only 5 leaves. */
  let older: Bundle;
  /** The 4th execution, bundled under the same checkpoint as the fixture. */
  let neighbour: Bundle;

  beforeAll(async () => {
    t = await startTestNode('sqlite', 'receipts-tamper-tlog');
    trusted = t.node.coordinatorSigner.publicKeyPem;
    const ids: string[] = [];
    for (let i = 0; i < 9; i++) {
      ids.push((await t.run({ id: 'tiny', steps: [echo('a')] }, { n: i })).executionId);
      if (i === 4) older = await bundleOf(t, ids[4]!);
    }
    fixture = await bundleOf(t, ids[4]!);
    neighbour = await bundleOf(t, ids[3]!);
  });
  afterAll(() => t?.close());

  const tampered = (change: (bundle: Bundle) => void, from = fixture): Bundle => {
    const bundle = clone(from);
    change(bundle);
    return bundle;
  };
  /** The checkpoint's lines: [origin, size, root, '', signature line, '']. */
  const lines = (bundle: Bundle): string[] => bundle.tlog.checkpoint.split('\n');
  const withLine = (bundle: Bundle, index: number, line: string) => {
    const all = lines(bundle);
    all[index] = line;
    bundle.tlog.checkpoint = all.join('\n');
  };
  const flipBit = (hex: string, bit: number): string => {
    const bytes = fromHex(hex);
    bytes[Math.floor(bit / 8) % 32] = bytes[Math.floor(bit / 8) % 32]! ^ (1 << (bit % 8));
    return toHex(bytes);
  };

  it('the fixtures verify: leaf 4 of 9 with a proof of several hashes, and leaf 4 of 5', async () => {
    expect(fixture.tlog).toMatchObject({ logIndex: 4, treeSize: 9 });
    expect(fixture.tlog.inclusionProof.length).toBeGreaterThanOrEqual(3);
    expect(older.tlog).toMatchObject({ logIndex: 4, treeSize: 5 });
    expect(lines(fixture)).toHaveLength(6);
    expectVerified(await verify(fixture, [trusted]));
    expectVerified(await verify(older, [trusted]));
  });

  for (const delta of [1, -1]) {
    it(`logIndex ${delta > 0 ? '+1' : '-1'} → tlog.inclusion`, async () => {
      const report = await verify(
        tampered((b) => (b.tlog.logIndex += delta)),
        [trusted],
      );
      expectRejected(report, { 'tlog.inclusion': /does not lead from the receipt/ });
      expectPassed(report, ['tlog.checkpoint', 'receipt.signature']);
    });
  }

  it('logIndex beyond the tree → tlog.inclusion', async () => {
    expectRejected(
      await verify(
        tampered((b) => (b.tlog.logIndex = 9)),
        [trusted],
      ),
      { 'tlog.inclusion': null },
    );
  });

  for (const delta of [1, -1]) {
    it(`treeSize ${delta > 0 ? '+1' : '-1'} → tlog.checkpoint (size mismatch) and tlog.inclusion`, async () => {
      const report = await verify(
        tampered((b) => (b.tlog.treeSize += delta)),
        [trusted],
      );
      expectRejected(report, {
        'tlog.checkpoint': new RegExp(`checkpoint size is 9, the bundle says ${9 + delta}`),
        'tlog.inclusion': /no verified checkpoint/,
      });
    });
  }

  it('one bit of each inclusion proof element → tlog.inclusion', async () => {
    const proof = fixture.tlog.inclusionProof;
    for (let i = 0; i < proof.length; i++) {
      for (const bit of [0, 7 + i * 37, 255]) {
        const report = await verify(
          tampered((b) => (b.tlog.inclusionProof[i] = flipBit(proof[i]!, bit))),
          [trusted],
        );
        expectRejected(report, { 'tlog.inclusion': /does not lead/ });
        expectPassed(report, ['tlog.checkpoint']);
      }
    }
  });

  it('a proof element removed (first, last) → tlog.inclusion', async () => {
    expectRejected(
      await verify(
        tampered((b) => b.tlog.inclusionProof.shift()),
        [trusted],
      ),
      { 'tlog.inclusion': null },
    );
    expectRejected(
      await verify(
        tampered((b) => b.tlog.inclusionProof.pop()),
        [trusted],
      ),
      { 'tlog.inclusion': null },
    );
  });

  it('a proof element added (a copy at the end, a zero hash at the start) → tlog.inclusion', async () => {
    expectRejected(
      await verify(
        tampered((b) => b.tlog.inclusionProof.push(b.tlog.inclusionProof[0]!)),
        [trusted],
      ),
      { 'tlog.inclusion': null },
    );
    expectRejected(
      await verify(
        tampered((b) => b.tlog.inclusionProof.unshift('0'.repeat(64))),
        [trusted],
      ),
      { 'tlog.inclusion': null },
    );
  });

  it('two proof elements swapped → tlog.inclusion', async () => {
    const report = await verify(
      tampered(
        (b) =>
          ([b.tlog.inclusionProof[0], b.tlog.inclusionProof[1]] = [
            b.tlog.inclusionProof[1]!,
            b.tlog.inclusionProof[0]!,
          ]),
      ),
      [trusted],
    );
    expectRejected(report, { 'tlog.inclusion': null });
  });

  it('the origin changed → tlog.checkpoint', async () => {
    const report = await verify(
      tampered((b) => (b.tlog.origin = `${b.tlog.origin}x`)),
      [trusted],
    );
    expectRejected(report, {
      'tlog.checkpoint': /no signature from a trusted key/,
      'tlog.inclusion': /no verified checkpoint/,
    });
  });

  it("a digit of the checkpoint's size changed → tlog.checkpoint (signature)", async () => {
    const report = await verify(
      tampered((b) => withLine(b, 1, '8')),
      [trusted],
    );
    expectRejected(report, { 'tlog.checkpoint': /does not verify/ });
  });

  it("the checkpoint's size and the bundle's treeSize changed together → tlog.checkpoint (signature)", async () => {
    const report = await verify(
      tampered((b) => (withLine(b, 1, '10'), (b.tlog.treeSize = 10))),
      [trusted],
    );
    expectRejected(report, { 'tlog.checkpoint': /does not verify/ });
  });

  it("a character of the checkpoint's root changed → tlog.checkpoint", async () => {
    for (const index of [0, 20, 42]) {
      const bundle = tampered((b) => {
        const root = lines(b)[2]!;
        withLine(b, 2, root.slice(0, index) + (root[index] === 'A' ? 'B' : 'A') + root.slice(index + 1));
      });
      expectRejected(await verify(bundle, [trusted]), {
        'tlog.checkpoint': null,
        'tlog.inclusion': /no verified checkpoint/,
      });
    }
  });

  it('one byte of the checkpoint signature changed (in the signature, in the key hash) → tlog.checkpoint', async () => {
    for (const [index, message] of [
      [10, /does not verify/],
      [40, /does not verify/],
      [1, /no signature from a trusted key/],
    ] as const) {
      const bundle = tampered((b) => {
        const [dash, name, sig] = lines(b)[4]!.split(' ') as [string, string, string];
        const bytes = fromBase64(sig);
        bytes[index] = bytes[index]! ^ 0x01;
        withLine(b, 4, `${dash} ${name} ${toBase64(bytes)}`);
      });
      expectRejected(await verify(bundle, [trusted]), { 'tlog.checkpoint': message });
    }
  });

  it('a checkpoint signed by an untrusted key → tlog.checkpoint', async () => {
    const forger = LocalSigner.generate();
    const bundle = tampered((b) => {
      const { body } = parseNote(b.tlog.checkpoint);
      b.tlog.checkpoint = signNote(body, b.tlog.origin, forger.publicKey, (m) => forger.sign(m));
    });
    expectRejected(await verify(bundle, [trusted]), {
      'tlog.checkpoint': /no signature from a trusted key/,
      'tlog.inclusion': /no verified checkpoint/,
    });
  });

  it('a cosignature by an unknown key beside the trusted one is ignored, as signed notes allow (witnesses)', async () => {
    const witness = LocalSigner.generate();
    const bundle = tampered((b) => {
      const { body } = parseNote(b.tlog.checkpoint);
      const extra = signNote(body, 'witness.example/w1', witness.publicKey, (m) => witness.sign(m)).slice(
        body.length + 1,
      );
      b.tlog.checkpoint += extra;
    });
    expect(lines(bundle)).toHaveLength(7);
    expectVerified(await verify(bundle, [trusted]));
  });

  it('the checkpoint of an older tree size with the current proof → tlog.checkpoint, tlog.inclusion', async () => {
    const report = await verify(
      tampered((b) => (b.tlog.checkpoint = older.tlog.checkpoint)),
      [trusted],
    );
    expectRejected(report, {
      'tlog.checkpoint': /checkpoint size is 5, the bundle says 9/,
      'tlog.inclusion': /no verified checkpoint/,
    });
  });

  it('the older checkpoint and tree size with the current proof → tlog.inclusion', async () => {
    const report = await verify(
      tampered((b) => ((b.tlog.checkpoint = older.tlog.checkpoint), (b.tlog.treeSize = 5))),
      [trusted],
    );
    expectRejected(report, { 'tlog.inclusion': /leaf 4 of 5/ });
    expectPassed(report, ['tlog.checkpoint']);
  });

  it('the current checkpoint with the older proof → tlog.inclusion', async () => {
    const report = await verify(
      tampered((b) => (b.tlog.inclusionProof = older.tlog.inclusionProof)),
      [trusted],
    );
    expectRejected(report, { 'tlog.inclusion': /leaf 4 of 9/ });
  });

  it("another execution's log proof (leaf 3 of the same checkpoint) → tlog.inclusion", async () => {
    expect(neighbour.tlog.logIndex).toBe(3);
    expect(neighbour.tlog.checkpoint).toBe(fixture.tlog.checkpoint);
    const report = await verify(
      tampered((b) => (b.tlog = clone(neighbour.tlog))),
      [trusted],
    );
    expectRejected(report, { 'tlog.inclusion': /leaf 3 of 9/ });
    expectPassed(report, ['tlog.checkpoint']);
  });
});
