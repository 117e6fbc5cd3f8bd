import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { IN_TOTO_PAYLOAD_TYPE, signEnvelope } from '../../../src/attest/dsse.js';
import type { Envelope } from '../../../src/attest/dsse.js';
import { statementBytes } from '../../../src/attest/statement.js';
import type { Statement } from '../../../src/attest/statement.js';
import {
  addressBindingStatement,
  addressBindingToSign,
  verifyAddressBinding,
} from '../../../src/chain/address-binding-statement.js';
import type { AddressBindingPredicate } from '../../../src/chain/address-binding-statement.js';
import { attestorBindingStatement, verifyAttestorBinding } from '../../../src/chain/attestor-binding-statement.js';
import type { AttestorBindingPredicate } from '../../../src/chain/attestor-binding-statement.js';
import { BindingError } from '../../../src/chain/binding-errors.js';
import { listDeploymentRecords, readDeploymentRecord } from '../../../src/chain/deployment-record.js';
import { LocalSigner } from '../../../src/keys/local-signer.js';

const coordinator = new LocalSigner(generateKeyPairSync('ed25519').privateKey);
const stranger = new LocalSigner(generateKeyPairSync('ed25519').privateKey);
const trusted = new Map([[coordinator.keyId, coordinator.publicKey]]);
const address = () => privateKeyToAccount(generatePrivateKey()).address;

const sign = (statement: Statement<unknown>, signer = coordinator): Envelope =>
  signEnvelope(IN_TOTO_PAYLOAD_TYPE, statementBytes(statement), signer);
const failed = (checks: { name: string; ok: boolean }[]) => checks.filter((c) => !c.ok).map((c) => c.name);

describe('the attestor-binding statement', () => {
  const predicate: AttestorBindingPredicate = {
    chainId: 31337,
    attestor: address(),
    token: address(),
    settlement: address(),
    boundAt: '2026-12-07T00:00:00.000Z',
  };
  const expected = {
    chainId: 31337,
    attestor: predicate.attestor,
    token: predicate.token,
    settlement: predicate.settlement,
  };

  it('verifies against the coordinator key and every expected field, naming chain:<id> as its subject', async () => {
    const statement = attestorBindingStatement(predicate);
    expect(statement.subject[0]!.name).toBe('chain:31337');
    const result = await verifyAttestorBinding(sign(statement), trusted, expected);
    expect(failed(result.checks)).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.predicate).toEqual(predicate);
    // An expected address in any case is the same address.
    const lower = await verifyAttestorBinding(sign(statement), trusted, {
      ...expected,
      token: predicate.token.toLowerCase(),
    });
    expect(lower.ok).toBe(true);
  });

  it.each([
    ['chainId', { chainId: 1 }],
    ['attestor', { attestor: address() }],
    ['token', { token: address() }],
    ['settlement', { settlement: address() }],
  ] as const)('fails attestor-binding.%s (and the subject) when %s changes, even re-signed', async (field, change) => {
    const tampered = attestorBindingStatement({ ...predicate, ...change });
    // The subject kept from the genuine statement: only the field differs.
    tampered.subject = attestorBindingStatement(predicate).subject;
    const result = await verifyAttestorBinding(sign(tampered), trusted, expected);
    expect(result.ok).toBe(false);
    expect(failed(result.checks)).toEqual(['attestor-binding.subject', `attestor-binding.${field}`]);
  });

  it('fails the signature for another key or a changed payload, and looks no further', async () => {
    const other = await verifyAttestorBinding(sign(attestorBindingStatement(predicate), stranger), trusted, expected);
    expect(failed(other.checks)).toEqual(['attestor-binding.signature']);
    expect(other.predicate).toBeUndefined();
    const envelope = sign(attestorBindingStatement(predicate));
    const changed = attestorBindingStatement({ ...predicate, token: address() });
    const swapped = { ...envelope, payload: Buffer.from(statementBytes(changed)).toString('base64') };
    expect(failed((await verifyAttestorBinding(swapped, trusted, expected)).checks)).toEqual([
      'attestor-binding.signature',
    ]);
  });

  it('never throws: not an envelope, another predicate type, a lowercase address', async () => {
    expect((await verifyAttestorBinding('nope', trusted)).ok).toBe(false);
    expect((await verifyAttestorBinding({ payloadType: 1 }, trusted)).ok).toBe(false);
    const wrongType = { ...attestorBindingStatement(predicate), predicateType: 'https://example.com/x' };
    expect(failed((await verifyAttestorBinding(sign(wrongType), trusted)).checks)).toEqual([
      'attestor-binding.statement',
    ]);
    const lower = attestorBindingStatement({ ...predicate, attestor: predicate.attestor.toLowerCase() });
    expect(failed((await verifyAttestorBinding(sign(lower), trusted)).checks)).toEqual(['attestor-binding.statement']);
  });
});

describe('the address-binding statement', async () => {
  const account = privateKeyToAccount(generatePrivateKey());
  const settlement = address();
  const signature = await account.signTypedData(addressBindingToSign(31337, settlement, 'alice', account.address));
  const predicate: AddressBindingPredicate = {
    principal: 'alice',
    chainId: 31337,
    settlement,
    address: account.address,
    signature,
    boundAt: '2026-12-07T00:00:00.000Z',
  };
  const expected = { principal: 'alice', chainId: 31337, settlement, address: account.address };

  it("verifies: the coordinator's signature, the account's signature, every expected field", async () => {
    const result = await verifyAddressBinding(sign(addressBindingStatement(predicate)), trusted, expected);
    expect(failed(result.checks)).toEqual([]);
    expect(result.checks.map((c) => c.name)).toContain('address-binding.account-signature');
  });

  it.each([
    ['principal', { principal: 'bob' }],
    ['chainId', { chainId: 1 }],
    ['settlement', { settlement: address() }],
    ['address', { address: address() }],
  ] as const)(
    "fails address-binding.%s, the subject and the account's signature when %s changes, even re-signed",
    async (field, change) => {
      const tampered = addressBindingStatement({ ...predicate, ...change });
      tampered.subject = addressBindingStatement(predicate).subject;
      const result = await verifyAddressBinding(sign(tampered), trusted, expected);
      expect(failed(result.checks)).toEqual([
        'address-binding.subject',
        'address-binding.account-signature',
        `address-binding.${field}`,
      ]);
    },
  );

  it("fails the account's signature when it is another key's", async () => {
    const other = privateKeyToAccount(generatePrivateKey());
    const forged = await other.signTypedData(addressBindingToSign(31337, settlement, 'alice', account.address));
    const result = await verifyAddressBinding(
      sign(addressBindingStatement({ ...predicate, signature: forged })),
      trusted,
      expected,
    );
    expect(failed(result.checks)).toEqual(['address-binding.account-signature']);
  });
});

describe('deployment records', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'verity-deployments-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    mkdirSync(join(dataDir, 'chain'), { recursive: true });
    writeFileSync(join(dataDir, 'chain', name), text);
  };

  it('reads, checksums and lists records by chain id; a missing one is undefined', () => {
    const record = {
      chainId: 5,
      token: address().toLowerCase(),
      settlement: address(),
      attestor: address(),
      admin: address(),
      extra: 1,
    };
    write('5.json', JSON.stringify(record));
    write('notes.txt', 'not a record');
    const read = readDeploymentRecord(dataDir, 5)!;
    expect(read.token).not.toBe(record.token);
    expect(read.token.toLowerCase()).toBe(record.token);
    expect(read).not.toHaveProperty('extra');
    expect(readDeploymentRecord(dataDir, 6)).toBeUndefined();
    expect(listDeploymentRecords(dataDir).map((r) => r.chainId)).toEqual([5]);
  });

  it('refuses a record that is not JSON, lacks a field, or names another chain, naming the file', () => {
    write('7.json', '{ nope');
    expect(() => readDeploymentRecord(dataDir, 7)).toThrow(/chain\/7\.json is not JSON/);
    write('8.json', JSON.stringify({ chainId: 8, token: address() }));
    expect(() => readDeploymentRecord(dataDir, 8)).toThrow(/8\.json is malformed: settlement/);
    write(
      '9.json',
      JSON.stringify({ chainId: 10, token: address(), settlement: address(), attestor: address(), admin: address() }),
    );
    expect(() => readDeploymentRecord(dataDir, 9)).toThrow(BindingError);
    expect(() => listDeploymentRecords(dataDir)).toThrow(BindingError);
    const skipped: string[] = [];
    expect(listDeploymentRecords(dataDir, (e) => skipped.push(String(e.context.file))).map((r) => r.chainId)).toEqual([
      5,
    ]);
    expect(skipped).toHaveLength(3);
  });
});
