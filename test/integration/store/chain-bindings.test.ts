import { describe, expect, it } from 'vitest';
import type { ChainAddressBindingRecord, ChainAttestorBindingRecord } from '../../../src/store/records.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { T0, hex, useStore } from './fixtures.js';

const envelope = {
  payloadType: 'application/vnd.in-toto+json',
  payload: 'e30=',
  signatures: [{ keyid: 'k', sig: 's' }],
};
const A = '0x' + '1'.repeat(40);
const B = '0x' + '2'.repeat(40);

function attestorBinding(overrides: Partial<ChainAttestorBindingRecord> = {}): ChainAttestorBindingRecord {
  return {
    chainId: 31337,
    attestor: A,
    token: '0x' + '3'.repeat(40),
    settlement: '0x' + '4'.repeat(40),
    envelope,
    payloadDigest: hex('attestor'),
    logIndex: 0,
    createdAt: T0,
    ...overrides,
  };
}

function addressBinding(overrides: Partial<ChainAddressBindingRecord> = {}): ChainAddressBindingRecord {
  return {
    chainId: 31337,
    account: 'alice',
    address: A,
    settlement: '0x' + '4'.repeat(40),
    signature: '0x' + 'ab'.repeat(65),
    envelope,
    payloadDigest: hex('alice'),
    logIndex: 1,
    createdAt: T0,
    ...overrides,
  };
}

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`store: chain bindings (${kind})`, () => {
    const h = useStore(kind, 'chain-bindings');

    it('keeps one attestor binding per deployment: a second insert of the same key writes nothing', async () => {
      const { store } = h;
      const first = attestorBinding();
      expect(await store.transaction((tx) => tx.insertChainAttestorBinding(first))).toBe(true);
      expect(await store.transaction((tx) => tx.insertChainAttestorBinding({ ...first, logIndex: 9 }))).toBe(false);
      expect(await store.read.getChainAttestorBinding(first)).toEqual(first);
      // Another escrow on the same chain is another deployment.
      const other = attestorBinding({ settlement: B, logIndex: 2 });
      expect(await store.transaction((tx) => tx.insertChainAttestorBinding(other))).toBe(true);
      expect(await store.read.getChainAttestorBinding(other)).toEqual(other);
      expect(await store.read.getChainAttestorBinding({ ...first, chainId: 1 })).toBeUndefined();
    });

    it('binds an address, replaces it only from the binding it read, and lists current bindings by account', async () => {
      const { store } = h;
      const alice = addressBinding();
      expect(await store.transaction((tx) => tx.replaceChainAddressBinding(alice, undefined))).toBe(true);
      // A second "first" binding lost its race: nothing written.
      expect(
        await store.transaction((tx) =>
          tx.replaceChainAddressBinding({ ...alice, address: B, logIndex: 5 }, undefined),
        ),
      ).toBe(false);
      expect(await store.read.chainAddressOf(31337, 'alice')).toEqual(alice);

      const rebound = addressBinding({ address: B, logIndex: 2, createdAt: T0 + 1 });
      // From a binding that is no longer current: nothing written.
      expect(await store.transaction((tx) => tx.replaceChainAddressBinding(rebound, 99))).toBe(false);
      expect(await store.transaction((tx) => tx.replaceChainAddressBinding(rebound, alice.logIndex))).toBe(true);
      expect(await store.read.chainAddressOf(31337, 'alice')).toEqual(rebound);

      const platform = addressBinding({ account: 'sys:platform', logIndex: 3 });
      const elsewhere = addressBinding({ chainId: 1, logIndex: 4 });
      await store.transaction(async (tx) => {
        expect(await tx.replaceChainAddressBinding(platform, undefined)).toBe(true);
        expect(await tx.replaceChainAddressBinding(elsewhere, undefined)).toBe(true);
      });
      expect(await store.read.listChainAddressBindings(31337, { limit: 10 })).toEqual([rebound, platform]);
      expect(await store.read.listChainAddressBindings(31337, { account: 'sys:platform', limit: 10 })).toEqual([
        platform,
      ]);
      expect(await store.read.listChainAddressBindings(31337, { limit: 1 })).toEqual([rebound]);
      expect(await store.read.chainAddressOf(1, 'alice')).toEqual(elsewhere);
      expect(await store.read.chainAddressOf(31337, 'bob')).toBeUndefined();
    });

    it('lets one of two concurrent first bindings in (two stores on one database)', async () => {
      const other = await h.open();
      const results = await Promise.all([
        h.store.transaction((tx) => tx.replaceChainAddressBinding(addressBinding({ logIndex: 10 }), undefined)),
        other.transaction((tx) =>
          tx.replaceChainAddressBinding(addressBinding({ address: B, logIndex: 11 }), undefined),
        ),
      ]);
      expect(results.filter(Boolean)).toHaveLength(1);
      const attestors = await Promise.all([
        h.store.transaction((tx) => tx.insertChainAttestorBinding(attestorBinding({ logIndex: 12 }))),
        other.transaction((tx) => tx.insertChainAttestorBinding(attestorBinding({ logIndex: 13 }))),
      ]);
      expect(attestors.filter(Boolean)).toHaveLength(1);
    });
  });
}
