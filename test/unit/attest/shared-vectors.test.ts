import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildVectors } from '../../vectors/generate.js';

/**
 * The known answers other worker implementations (python/) are held to were written by this code: it must
 * still produce every one of them, or a format changed under them. After a deliberate change, regenerate
 * with `npx tsx test/vectors/generate.ts` and make the other implementations agree again.
 */
const committed = JSON.parse(
  readFileSync(new URL('../../vectors/shared-vectors.json', import.meta.url), 'utf8'),
) as ReturnType<typeof buildVectors>;
const current = buildVectors();

describe('shared known-answer vectors (test/vectors/shared-vectors.json)', () => {
  it.each(Object.keys(current).filter((k) => k !== 'about'))(
    'the TypeScript code still produces every %s vector',
    (key) => {
      expect(current[key as keyof typeof current]).toEqual(committed[key as keyof typeof committed]);
    },
  );

  it('covers floats, unicode, a signed attestation and the RFC 8032 keys', () => {
    expect(committed.numbers.length).toBeGreaterThan(300);
    expect(committed.canonical.map((c) => c.name)).toEqual(expect.arrayContaining(['floats', 'unicode']));
    expect(committed.attestation.envelope.signatures).toHaveLength(1);
    expect(committed.ed25519).toHaveLength(3);
  });

  it('the committed file is exactly what the generator writes', () => {
    expect(readFileSync(new URL('../../vectors/shared-vectors.json', import.meta.url), 'utf8')).toBe(
      `${JSON.stringify(current, null, 2)}\n`,
    );
  });
});
