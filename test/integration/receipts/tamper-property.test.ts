import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle } from '../../../src/attest/bundle.js';
import type { VerificationReport } from '../../../src/attest/verify/report.js';
import { startTestNode } from '../../support/node.js';
import type { TestNode } from '../../support/node.js';
import { bundleOf, clone, expectRejected, expectVerified, failed, runExample, verify } from './support.js';

type Path = (string | number)[];
type Leaf = string | number | boolean;

const HEX = '0123456789abcdef';
const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const PRINTABLE = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)).join('');

/** Every leaf is covered; a key PEM must be in its one canonical spelling (see the PEM tests below). */
const IGNORED = (_path: Path) => false;

function leaves(value: unknown, path: Path = []): Path[] {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return [path];
  if (Array.isArray(value)) return value.flatMap((item, i) => leaves(item, [...path, i]));
  if (value !== null && typeof value === 'object')
    return Object.entries(value).flatMap(([key, item]) => leaves(item, [...path, key]));
  return [];
}

function get(root: unknown, path: Path): Leaf {
  return path.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], root) as Leaf;
}

function set(root: unknown, path: Path, value: Leaf): void {
  const parent = path
    .slice(0, -1)
    .reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], root);
  (parent as Record<string | number, unknown>)[path[path.length - 1]!] = value;
}

/** The alphabet a string's characters are drawn from, and the positions that may change (not base64 padding). */
function alphabetOf(text: string): { alphabet: string; length: number } {
  if (/^[0-9a-f]+$/.test(text)) return { alphabet: HEX, length: text.length };
  if (text.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(text))
    return { alphabet: BASE64, length: text.replace(/=+$/, '').length };
  return { alphabet: PRINTABLE, length: text.length };
}

/** One small change to a leaf: one character to another of its alphabet, a number ±1, a boolean flipped. */
function mutate(value: Leaf, position: number, pick: number, delta: 1 | -1): Leaf {
  if (typeof value === 'number') return value + delta;
  if (typeof value === 'boolean') return !value;
  if (value === '') return 'x';
  const { alphabet, length } = alphabetOf(value);
  const index = position % length;
  const choices = alphabet.replace(value[index]!, '');
  return value.slice(0, index) + choices[pick % choices.length]! + value.slice(index + 1);
}

const rejected = (report: VerificationReport) =>
  !report.ok && (report.unusable !== undefined || failed(report).length > 0);

/** Random small changes anywhere in a real bundle (level full): none of them verifies. */
describe('tampering with any leaf of a bundle (property)', () => {
  let t: TestNode;
  let trusted: string;
  let fixture: Bundle;
  let paths: Path[];

  beforeAll(async () => {
    t = await startTestNode('sqlite', 'receipts-property');
    trusted = t.node.coordinatorSigner.publicKeyPem;
    fixture = await bundleOf(t, await runExample(t, 'linear'));
    paths = leaves(fixture).filter((p) => !IGNORED(p));
  });
  afterAll(() => t?.close());

  const tampered = (path: Path, position: number, pick: number, delta: 1 | -1): Bundle => {
    const bundle = clone(fixture);
    const before = get(bundle, path);
    const after = mutate(before, position, pick, delta);
    expect(after).not.toEqual(before);
    set(bundle, path, after);
    return bundle;
  };

  it('the fixture verifies, has 5 steps with data, and every part of the bundle has leaves to change', async () => {
    expectVerified(await verify(fixture, [trusted], 'full'));
    expect(Object.keys(fixture.data!.steps)).toHaveLength(5);
    const tops = new Set(paths.map((p) => p[0]));
    expect([...tops].sort()).toEqual(['attestations', 'data', 'keys', 'mediaType', 'receipt', 'tlog']);
    expect(paths.length).toBeGreaterThan(60);
  });

  it('a random change to a random leaf never verifies (300 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.nat(),
        fc.nat(),
        fc.constantFrom<1 | -1>(1, -1),
        async (which, position, pick, delta) => {
          const path = paths[which % paths.length]!;
          const report = await verify(tampered(path, position, pick, delta), [trusted], 'full');
          if (!rejected(report)) throw new Error(`changing ${path.join('.')} verified`);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('every leaf, changed once at its first and at its last changeable character, never verifies', async () => {
    const verified: string[] = [];
    for (const path of paths) {
      const value = get(fixture, path);
      const last = typeof value === 'string' ? Math.max(alphabetOf(value).length - 1, 0) : 0;
      for (const position of new Set([0, last])) {
        if (!rejected(await verify(tampered(path, position, 7, 1), [trusted], 'full')))
          verified.push(`${path.join('.')}@${position}`);
      }
    }
    expect(verified).toEqual([]);
  });

  describe('keys[].publicKeyPem', () => {
    const pemOf = (bundle: Bundle) => bundle.keys.find((k) => k.role === 'worker')!;

    it('a changed header, a changed key byte, or another key are caught → keys', async () => {
      const changes: ((pem: string) => string)[] = [
        (pem) => pem.replace('PUBLIC KEY-----\n', 'PUBLIC KEZ-----\n'),
        (pem) => pem.replace('MCowBQYDK2VwAyEA', 'MCowBQYDK2VwAyEB'),
        // The first character of the raw key: a whole byte of the key changes.
        (pem) => pem.slice(0, 43) + (pem[43] === 'A' ? 'B' : 'A') + pem.slice(44),
      ];
      for (const change of changes) {
        const bundle = clone(fixture);
        pemOf(bundle).publicKeyPem = change(pemOf(bundle).publicKeyPem);
        expect(pemOf(bundle).publicKeyPem).not.toBe(pemOf(fixture).publicKeyPem);
        expectRejected(await verify(bundle, [trusted], 'full'), { keys: null });
      }
    });

    // The last base64 character of the PEM body carries 2 spare bits (44 DER bytes in 59 characters and one
    // '='): flipping them spells the same key differently, which the one-spelling rule refuses.
    it('the spare bits of the last base64 character of a key PEM changed → keys', async () => {
      const bundle = clone(fixture);
      const pem = pemOf(bundle).publicKeyPem;
      const index = pem.indexOf('=\n-----END');
      const c = pem[index - 1]!;
      pemOf(bundle).publicKeyPem = pem.slice(0, index - 1) + BASE64[BASE64.indexOf(c) ^ 1]! + pem.slice(index);
      expect(pemOf(bundle).publicKeyPem).not.toBe(pem);
      expectRejected(await verify(bundle, [trusted], 'full'), { keys: /canonical PEM form/ });
    });

    // publicKeyFromPem is lenient with whitespace (a key file from an editor should load); the bundle's keys
    // must still be in their canonical spelling.
    const whitespace: [string, (pem: string) => string][] = [
      ["the final '\\n' replaced by a space", (pem) => `${pem.slice(0, -1)} `],
      ["the '\\n' before -----END replaced by '\\r'", (pem) => pem.replace('\n-----END', '\r-----END')],
      ['a space added in front', (pem) => ` ${pem}`],
    ];
    for (const [what, change] of whitespace) {
      it(`${what} in a key PEM → keys`, async () => {
        const bundle = clone(fixture);
        pemOf(bundle).publicKeyPem = change(pemOf(bundle).publicKeyPem);
        expect(pemOf(bundle).publicKeyPem).not.toBe(pemOf(fixture).publicKeyPem);
        expectRejected(await verify(bundle, [trusted], 'full'), { keys: /canonical PEM form/ });
      });
    }
  });
});
