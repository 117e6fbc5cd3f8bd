import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { privateKeyToAccount } from 'viem/accounts';
import type { Hex } from 'viem';
import { loadOrCreateAttestorKey, loadPrivateKeyAccount } from '../../../src/chain/attestor-key.js';
import { ChainError } from '../../../src/chain/errors.js';
import { KeyStoreError } from '../../../src/keys/errors.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'verity-attestor-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('loadOrCreateAttestorKey', () => {
  it('creates a 0x-hex key with mode 0600 in a 0700 directory on first use, and loads the same key after', () => {
    const file = join(dir, 'keys', 'attestor.key');
    const created = loadOrCreateAttestorKey(file);
    const text = readFileSync(file, 'utf8').trim();
    expect(text).toMatch(/^0x[0-9a-f]{64}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'keys')).mode & 0o777).toBe(0o700);
    expect(created.address).toBe(privateKeyToAccount(text as Hex).address);
    expect(loadOrCreateAttestorKey(file).address).toBe(created.address);
    // The account is printable without leaking the key: viem keeps it in closures, not in fields.
    expect(JSON.stringify(created)).not.toContain(text.slice(2));
  });

  it('creates a different key in another data directory', () => {
    const a = loadOrCreateAttestorKey(join(dir, 'a', 'attestor.key'));
    const b = loadOrCreateAttestorKey(join(dir, 'b', 'attestor.key'));
    expect(a.address).not.toBe(b.address);
  });

  it('refuses a key file group or others can read, as ssh does', () => {
    const file = join(dir, 'attestor.key');
    loadOrCreateAttestorKey(file);
    chmodSync(file, 0o640);
    const error = thrown(() => loadOrCreateAttestorKey(file));
    expect(error).toBeInstanceOf(KeyStoreError);
    expect((error as KeyStoreError).code).toBe('insecure_permissions');
  });

  it('refuses a file that is not a 0x-hex key without quoting its content', () => {
    const file = join(dir, 'payer.key');
    const almost = `0x${'ab'.repeat(31)}zz`;
    writeFileSync(file, almost, { mode: 0o600 });
    const error = thrown(() => loadPrivateKeyAccount(file));
    expect(error).toBeInstanceOf(ChainError);
    expect((error as ChainError).code).toBe('invalid_key');
    expect((error as Error).message).not.toContain(almost);
  });

  it('accepts a key with surrounding whitespace and upper-case hex (as wallets export it)', () => {
    const file = join(dir, 'payer.key');
    const key = `0x${'5A'.repeat(32)}`;
    writeFileSync(file, `  ${key}\n`, { mode: 0o600 });
    expect(loadPrivateKeyAccount(file).address).toBe(privateKeyToAccount(key.toLowerCase() as Hex).address);
  });
});
