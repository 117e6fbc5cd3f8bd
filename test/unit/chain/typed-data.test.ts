import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getAddress, keccak256, stringToBytes } from 'viem';
import { compileContracts, sourcesDigest } from '../../../src/chain/compile.js';
import { ChainError } from '../../../src/chain/errors.js';
import {
  idToBytes32,
  microUnits,
  orderMessage,
  sha256ToBytes32,
  sortedPayouts,
  verityDomain,
} from '../../../src/chain/typed-data.js';

const A = '0x00000000000000000000000000000000000000aa';
const B = '0x00000000000000000000000000000000000000Bb';
const C = '0x0000000000000000000000000000000000000C00';

function chainErrorCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof ChainError) return error.code;
    throw error;
  }
  return undefined;
}

describe('Verity values in EIP-712 form', () => {
  it('an id is keccak256 of its UTF-8; an empty one is refused', () => {
    expect(idToBytes32('exec-ü')).toBe(keccak256(stringToBytes('exec-ü')));
    expect(chainErrorCode(() => idToBytes32(''))).toBe('invalid_value');
  });

  it('a SHA-256 digest is its own bytes32, with or without the sha256: prefix; anything else is refused', () => {
    expect(sha256ToBytes32('ab'.repeat(32))).toBe(`0x${'ab'.repeat(32)}`);
    expect(sha256ToBytes32(`sha256:${'ab'.repeat(32)}`)).toBe(`0x${'ab'.repeat(32)}`);
    for (const bad of ['AB'.repeat(32), 'ab'.repeat(31), `0x${'ab'.repeat(32)}`, '']) {
      expect(chainErrorCode(() => sha256ToBytes32(bad))).toBe('invalid_value');
    }
  });

  it('micro-units are token units unchanged; negative or unsafe amounts are refused', () => {
    expect(microUnits(1_500_000)).toBe(1_500_000n);
    expect(chainErrorCode(() => microUnits(-1))).toBe('invalid_value');
    expect(chainErrorCode(() => microUnits(2 ** 53))).toBe('invalid_value');
  });

  it('payouts: one per payee (summed), checksummed, ascending by address, zeros dropped', () => {
    expect(
      sortedPayouts([
        { payee: C, amount: 5 },
        { payee: A, amount: 1 },
        { payee: B.toLowerCase(), amount: 0 },
        { payee: C, amount: 7 },
      ]),
    ).toEqual([
      { payee: '0x00000000000000000000000000000000000000AA', amount: 1n },
      { payee: getAddress(C), amount: 12n },
    ]);
    expect(chainErrorCode(() => sortedPayouts([{ payee: 'alice', amount: 1 }]))).toBe('invalid_value');
  });

  it('an order checks its addresses and converts its ids', () => {
    const order = orderMessage({
      listingId: 'l-1',
      workflowDigest: 'cd'.repeat(32),
      payer: A,
      token: B,
      maxAmount: 10,
      deadline: 100,
      nonce: 0,
    });
    expect(order).toMatchObject({ listingId: idToBytes32('l-1'), payer: '0x00000000000000000000000000000000000000AA' });
    expect(chainErrorCode(() => verityDomain('VerityToken', 1, '0x1234'))).toBe('invalid_value');
  });
});

describe('compileContracts', () => {
  it("reports solc's error as ChainError compile_failed, and an import no package provides", () => {
    const dir = mkdtempSync(join(tmpdir(), 'verity-chain-'));
    try {
      writeFileSync(
        join(dir, 'Broken.sol'),
        'pragma solidity ^0.8.24; contract Broken { function f() public { x = 1; } }',
      );
      expect(chainErrorCode(() => compileContracts(dir))).toBe('compile_failed');
      writeFileSync(
        join(dir, 'Broken.sol'),
        'pragma solidity ^0.8.24; import "@nobody/missing/Thing.sol"; contract Broken {}',
      );
      expect(() => compileContracts(dir)).toThrow(/@nobody\/missing\/Thing\.sol/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('names the built artifacts by their sources: a changed, added or renamed file is another digest', () => {
    const dir = mkdtempSync(join(tmpdir(), 'verity-chain-'));
    try {
      writeFileSync(join(dir, 'A.sol'), 'pragma solidity ^0.8.24; contract A {}');
      const first = sourcesDigest(dir);
      expect(sourcesDigest(dir)).toBe(first);
      writeFileSync(join(dir, 'A.sol'), 'pragma solidity ^0.8.24; contract A { }');
      const edited = sourcesDigest(dir);
      expect(edited).not.toBe(first);
      writeFileSync(join(dir, 'B.sol'), 'pragma solidity ^0.8.24; contract B {}');
      expect(sourcesDigest(dir)).not.toBe(edited);
      rmSync(join(dir, 'B.sol'));
      expect(sourcesDigest(dir)).toBe(edited);
      writeFileSync(join(dir, 'C.sol'), readFileSync(join(dir, 'A.sol')));
      rmSync(join(dir, 'A.sol'));
      expect(sourcesDigest(dir)).not.toBe(edited);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
