import type { KeyObject } from 'node:crypto';
import { createHash, createPrivateKey, generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fromBase64, fromHex, toBase64, toHex } from '../../../src/attest/bytes.js';
import type { Checkpoint } from '../../../src/attest/checkpoint.js';
import {
  formatCheckpoint,
  noteKeyHash,
  parseCheckpoint,
  parseNote,
  signNote,
  verifierKey,
  verifyNote,
} from '../../../src/attest/checkpoint.js';
import { AttestError } from '../../../src/attest/errors.js';

interface TestKey {
  name: string;
  publicKey: Uint8Array;
  sign: (message: Uint8Array) => Uint8Array;
}

function signerFor(privateKey: KeyObject): (message: Uint8Array) => Uint8Array {
  return (message) => new Uint8Array(nodeSign(null, message, privateKey));
}

function newKey(name: string): TestKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  // A raw Ed25519 public key is its SPKI DER without the 12-byte algorithm prefix.
  const raw = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }).subarray(12));
  return { name, publicKey: raw, sign: signerFor(privateKey) };
}

const ROOT = fromHex('5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328');
const CHECKPOINT: Checkpoint = { origin: 'verity.example/log', size: 8, rootHash: ROOT, extensions: [] };
const LOG = newKey('verity.example/log');
const OTHER = newKey('verity.example/other');

async function noteError(promise: Promise<unknown>): Promise<AttestError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AttestError) return error;
    throw error;
  }
  throw new Error('expected the note to be refused');
}

function syncError(fn: () => unknown): AttestError {
  try {
    fn();
  } catch (error) {
    if (error instanceof AttestError) return error;
    throw error;
  }
  throw new Error('expected an AttestError');
}

function signedCheckpoint(key: TestKey = LOG, checkpoint: Checkpoint = CHECKPOINT): string {
  return signNote(formatCheckpoint(checkpoint), key.name, key.publicKey, key.sign);
}

/** The signature line of a note signed by one key. */
function signatureLine(note: string): string {
  return note.slice(note.lastIndexOf('\n\n') + 2);
}

describe('checkpoint body', () => {
  it('formats the three C2SP lines and extension lines', () => {
    expect(formatCheckpoint(CHECKPOINT)).toBe(`verity.example/log\n8\n${toBase64(ROOT)}\n`);
    expect(formatCheckpoint({ ...CHECKPOINT, size: 0, extensions: ['a b', 'c'] })).toBe(
      `verity.example/log\n0\n${toBase64(ROOT)}\na b\nc\n`,
    );
  });

  it('round-trips through parse', () => {
    for (const checkpoint of [
      CHECKPOINT,
      { ...CHECKPOINT, size: 0 },
      { ...CHECKPOINT, size: Number.MAX_SAFE_INTEGER, extensions: ['ext one', 'two'] },
    ]) {
      const parsed = parseCheckpoint(formatCheckpoint(checkpoint));
      expect({ ...parsed, rootHash: toHex(parsed.rootHash) }).toEqual({
        ...checkpoint,
        rootHash: toHex(checkpoint.rootHash),
      });
    }
  });

  it('parses the example of c2sp.org/tlog-checkpoint', () => {
    const parsed = parseCheckpoint(
      'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n',
    );
    expect(parsed.origin).toBe('example.com/behind-the-sofa');
    expect(parsed.size).toBe(20852163);
    expect(toBase64(parsed.rootHash)).toBe('CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=');
    expect(parsed.extensions).toEqual([]);
  });

  const root = toBase64(ROOT);
  const malformed: [string, string, RegExp][] = [
    ['a missing line', `origin\n8\n`, /at least 3 lines/],
    ['no final newline', `origin\n8\n${root}`, /end in a newline/],
    ['a leading zero', `origin\n08\n${root}\n`, /leading zeros/],
    ['a negative size', `origin\n-1\n${root}\n`, /not a decimal number/],
    ['a non-decimal size', `origin\n0x10\n${root}\n`, /not a decimal number/],
    ['a size with a space', `origin\n 8\n${root}\n`, /not a decimal number/],
    ['a size beyond 2^53 - 1', `origin\n9007199254740992\n${root}\n`, /larger than/],
    ['a root of 31 bytes', `origin\n8\n${toBase64(ROOT.subarray(0, 31))}\n`, /31 bytes/],
    ['a root of 33 bytes', `origin\n8\n${toBase64(new Uint8Array(33))}\n`, /33 bytes/],
    ['a non-base64 root', `origin\n8\n${root.replace('w', '!')}\n`, /not canonical standard base64/],
    ['a URL-safe root', `origin\n8\n${root.replace('/', '_')}\n`, /not canonical standard base64/],
    ['an unpadded root', `origin\n8\n${root.replace('=', '')}\n`, /not canonical standard base64/],
    ['an empty origin', `\n8\n${root}\n`, /origin \(line 1\) is empty/],
    ['an empty extension line', `origin\n8\n${root}\next\n\n`, /line 5 is empty/],
    ['a control character', `origin\t\n8\n${root}\n`, /control character U\+0009/],
  ];
  for (const [what, body, message] of malformed) {
    it(`refuses ${what}`, () => {
      const error = syncError(() => parseCheckpoint(body));
      expect(error.code).toBe('invalid_note');
      expect(error.message).toMatch(message);
    });
  }

  it('refuses to format what it could not parse back', () => {
    expect(() => formatCheckpoint({ ...CHECKPOINT, origin: '' })).toThrow(/origin/);
    expect(() => formatCheckpoint({ ...CHECKPOINT, origin: 'a\nb' })).toThrow(/origin/);
    expect(() => formatCheckpoint({ ...CHECKPOINT, size: -1 })).toThrow(/tree size/);
    expect(() => formatCheckpoint({ ...CHECKPOINT, size: 1.5 })).toThrow(/tree size/);
    expect(() => formatCheckpoint({ ...CHECKPOINT, rootHash: new Uint8Array(31) })).toThrow(/32 bytes/);
    expect(() => formatCheckpoint({ ...CHECKPOINT, extensions: [''] })).toThrow(/extension line 0/);
  });
});

describe('note keys', () => {
  it('computes the key ID as SHA-256(name || 0x0A || 0x01 || key)[:4]', () => {
    const expected = createHash('sha256')
      .update(LOG.name, 'utf8')
      .update(Buffer.from([0x0a, 0x01]))
      .update(LOG.publicKey)
      .digest()
      .subarray(0, 4);
    expect(toHex(noteKeyHash(LOG.name, LOG.publicKey))).toBe(expected.toString('hex'));
    expect(toHex(noteKeyHash(OTHER.name, LOG.publicKey))).not.toBe(expected.toString('hex'));
  });

  it('writes the verifier key as name+hex ID+base64(0x01 || key)', () => {
    const vkey = verifierKey(LOG.name, LOG.publicKey);
    // The base64 key may itself contain '+', so only the first two separate fields.
    const match = /^([^+]+)\+([^+]+)\+(.+)$/.exec(vkey);
    expect(match).not.toBeNull();
    const [, name, id, key] = match!;
    expect(name).toBe(LOG.name);
    expect(id).toMatch(/^[0-9a-f]{8}$/);
    expect(id).toBe(toHex(noteKeyHash(LOG.name, LOG.publicKey)));
    const decoded = fromBase64(key!);
    expect(decoded.length).toBe(33);
    expect(decoded[0]).toBe(1);
    expect(toHex(decoded.subarray(1))).toBe(toHex(LOG.publicKey));
  });

  it('refuses names with spaces or plus signs and keys that are not 32 bytes', () => {
    for (const name of ['', 'a b', 'a+b', 'a\u00a0b', 'a\tb'])
      expect(() => noteKeyHash(name, LOG.publicKey), JSON.stringify(name)).toThrow(AttestError);
    expect(() => noteKeyHash(LOG.name, LOG.publicKey.subarray(0, 31))).toThrow(/32-byte/);
  });
});

describe('signed notes', () => {
  it('signs the body with one em-dash signature line, and verifies', async () => {
    const body = formatCheckpoint(CHECKPOINT);
    const note = signedCheckpoint();
    expect(note.startsWith(`${body}\n\u2014 ${LOG.name} `)).toBe(true);
    expect(note.endsWith('\n')).toBe(true);
    const sig = fromBase64(signatureLine(note).slice(`\u2014 ${LOG.name} `.length, -1));
    expect(sig.length).toBe(68);
    expect(toHex(sig.subarray(0, 4))).toBe(toHex(noteKeyHash(LOG.name, LOG.publicKey)));

    const verified = await verifyNote(note, [LOG]);
    expect(verified).toEqual({ body, verifiedBy: [LOG.name] });
    expect(parseCheckpoint(verified.body).size).toBe(8);
  });

  it('parses the signature lines', () => {
    const note = signedCheckpoint() + signatureLine(signedCheckpoint(OTHER));
    const { body, signatures } = parseNote(note);
    expect(body).toBe(formatCheckpoint(CHECKPOINT));
    expect(signatures.map((s) => s.name)).toEqual([LOG.name, OTHER.name]);
    expect(signatures.map((s) => toHex(s.keyHash))).toEqual([
      toHex(noteKeyHash(LOG.name, LOG.publicKey)),
      toHex(noteKeyHash(OTHER.name, OTHER.publicKey)),
    ]);
    expect(signatures.every((s) => s.signature.length === 64)).toBe(true);
  });

  it('separates the text at the last blank line, so the text may contain blank lines', () => {
    const { body, signatures } = parseNote(`a\n\nb\n\n\u2014 k AAAAAAA=\n`);
    expect(body).toBe('a\n\nb\n');
    expect(signatures).toHaveLength(1);
    expect(toHex(signatures[0]!.keyHash)).toBe('00000000');
    expect(signatures[0]!.signature.length).toBe(1);
  });

  it('reports every trusted key that signed', async () => {
    const note = signedCheckpoint() + signatureLine(signedCheckpoint(OTHER));
    expect((await verifyNote(note, [LOG, OTHER])).verifiedBy).toEqual([LOG.name, OTHER.name]);
    expect((await verifyNote(note, [OTHER])).verifiedBy).toEqual([OTHER.name]);
  });

  it('refuses a changed body character', async () => {
    const note = signedCheckpoint().replace('verity.example/log\n', 'verity.example/lag\n');
    expect((await noteError(verifyNote(note, [LOG]))).message).toMatch(/does not verify/);
  });

  it('refuses a changed size', async () => {
    const note = signedCheckpoint().replace('\n8\n', '\n9\n');
    expect(note).not.toBe(signedCheckpoint());
    expect((await noteError(verifyNote(note, [LOG]))).code).toBe('invalid_note');
  });

  it('ignores lines from untrusted keys, and so refuses a note with only those', async () => {
    const note = signedCheckpoint(OTHER);
    const error = await noteError(verifyNote(note, [LOG]));
    expect(error.code).toBe('invalid_note');
    expect(error.message).toMatch(/no signature from a trusted key/);
    // An untrusted line next to a good trusted one changes nothing.
    expect((await verifyNote(signedCheckpoint() + signatureLine(note), [LOG])).verifiedBy).toEqual([LOG.name]);
  });

  it("ignores a line with a trusted key's name but another key ID", async () => {
    const line = signatureLine(signedCheckpoint());
    const bytes = fromBase64(line.slice(`\u2014 ${LOG.name} `.length, -1));
    bytes[0]! ^= 1;
    const note = `${formatCheckpoint(CHECKPOINT)}\n\u2014 ${LOG.name} ${toBase64(bytes)}\n`;
    expect((await noteError(verifyNote(note, [LOG]))).message).toMatch(/no signature from a trusted key/);
  });

  it("ignores a line with a trusted key's ID but another name", async () => {
    const line = signatureLine(signedCheckpoint()).replace(`\u2014 ${LOG.name} `, '\u2014 impostor.example/log ');
    const note = `${formatCheckpoint(CHECKPOINT)}\n${line}`;
    expect(parseNote(note).signatures[0]!.name).toBe('impostor.example/log');
    expect((await noteError(verifyNote(note, [LOG]))).message).toMatch(/no signature from a trusted key/);
  });

  it('accepts a trusted key listed twice', async () => {
    expect((await verifyNote(signedCheckpoint(), [LOG, { ...LOG }])).verifiedBy).toEqual([LOG.name]);
  });

  it("refuses the whole note when a trusted key's signature is bit-flipped, even if a valid one follows", async () => {
    const good = signatureLine(signedCheckpoint());
    const bytes = fromBase64(good.slice(`\u2014 ${LOG.name} `.length, -1));
    bytes[10]! ^= 0x20;
    const bad = `\u2014 ${LOG.name} ${toBase64(bytes)}\n`;
    const body = formatCheckpoint(CHECKPOINT);
    const error = await noteError(verifyNote(`${body}\n${bad}${good}`, [LOG]));
    expect(error.code).toBe('invalid_note');
    expect(error.message).toMatch(/does not verify/);
    // Before the bad line, and alongside another trusted signer, too.
    await expect(verifyNote(`${body}\n${good}${bad}`, [LOG])).rejects.toThrow(/does not verify/);
    await expect(verifyNote(`${body}\n${signatureLine(signedCheckpoint(OTHER))}${bad}`, [LOG, OTHER])).rejects.toThrow(
      /does not verify/,
    );
  });

  it('refuses a trusted line whose signature is too short to be Ed25519', async () => {
    const hash = toBase64(noteKeyHash(LOG.name, LOG.publicKey));
    await expect(verifyNote(`${formatCheckpoint(CHECKPOINT)}\n\u2014 ${LOG.name} ${hash}\n`, [LOG])).rejects.toThrow(
      /does not verify/,
    );
  });

  it('refuses a note without the blank line', async () => {
    const note = signedCheckpoint().replace('\n\n', '\n');
    expect((await noteError(verifyNote(note, [LOG]))).message).toMatch(/no blank line/);
  });

  it('refuses an ASCII hyphen instead of the em dash', async () => {
    const note = signedCheckpoint().replace('\u2014 ', '- ');
    expect((await noteError(verifyNote(note, [LOG]))).message).toMatch(/em dash/);
  });

  it('refuses more than 100 signature lines, and accepts 100', async () => {
    const line = signatureLine(signedCheckpoint());
    const body = formatCheckpoint(CHECKPOINT);
    expect((await verifyNote(`${body}\n${line.repeat(100)}`, [LOG])).verifiedBy).toEqual([LOG.name]);
    expect((await noteError(verifyNote(`${body}\n${line.repeat(101)}`, [LOG]))).message).toMatch(/101 signature lines/);
  });

  it('refuses a control character in the body', async () => {
    const body = 'verity.example/log\n8\r\nroot\n';
    const note = `${body}\n${signatureLine(signedCheckpoint())}`;
    expect((await noteError(verifyNote(note, [LOG]))).message).toMatch(/control character U\+000D/);
    expect(() => signNote(body, LOG.name, LOG.publicKey, LOG.sign)).toThrow(/control character/);
  });

  it('refuses a lone surrogate, which has no UTF-8 form', () => {
    expect(() => parseNote(`a\ud800b\n\n\u2014 k AAAAAAA=\n`)).toThrow(/surrogate/);
    expect(() => parseNote(`a\udc00b\n\n\u2014 k AAAAAAA=\n`)).toThrow(/surrogate/);
    expect(parseNote(`a\u{1f600}b\n\n\u2014 k AAAAAAA=\n`).body).toBe('a\u{1f600}b\n');
  });

  const badSyntax: [string, string][] = [
    ['no signature after the blank line', 'text\n\n'],
    ['a signature line without a final newline', 'text\n\n\u2014 k AAAAAAA='],
    ['a line after the signatures', 'text\n\n\u2014 k AAAAAAA=\nmore\n'],
    ['a key name with a space', 'text\n\n\u2014 k k AAAAAAA=\n'],
    ['a key name with a plus', 'text\n\n\u2014 k+k AAAAAAA=\n'],
    ['an empty key name', 'text\n\n\u2014  AAAAAAA=\n'],
    ['two spaces before the signature', 'text\n\n\u2014 k  AAAAAAA=\n'],
    ['a trailing space', 'text\n\n\u2014 k AAAAAAA= \n'],
    ['unpadded base64', 'text\n\n\u2014 k AAAAAAA\n'],
    ['URL-safe base64', 'text\n\n\u2014 k AAAAAA_-\n'],
    ['non-canonical base64 (spare bits set)', 'text\n\n\u2014 k AAAAAAB=\n'],
    ['a signature shorter than a key ID', 'text\n\n\u2014 k AAAA\n'],
  ];
  for (const [what, note] of badSyntax) {
    it(`refuses ${what}`, () => {
      expect(syncError(() => parseNote(note)).code).toBe('invalid_note');
    });
  }

  it('refuses to sign text it could not parse back', () => {
    const { name, publicKey, sign } = LOG;
    expect(() => signNote('no newline', name, publicKey, sign)).toThrow(/end in a newline/);
    expect(() => signNote('a\n\nb\n', name, publicKey, sign)).toThrow(/blank line/);
    expect(() => signNote('\n', name, publicKey, sign)).toThrow(/blank line/);
    expect(() => signNote('a\n', 'bad name', publicKey, sign)).toThrow(AttestError);
    expect(() => signNote('a\n', name, publicKey, () => new Uint8Array(63))).toThrow(/64-byte/);
  });

  it('signs the UTF-8 bytes of the body, final newline included', async () => {
    const body = 'caf\u00e9 \u2014 \u{1f600}\n';
    let signed: Uint8Array | undefined;
    const note = signNote(body, LOG.name, LOG.publicKey, (message) => {
      signed = message;
      return LOG.sign(message);
    });
    expect(signed).toEqual(new Uint8Array(Buffer.from(body, 'utf8')));
    expect((await verifyNote(note, [LOG])).body).toBe(body);
  });
});

describe('the golang.org/x/mod/sumdb/note reference example', () => {
  // From Go's note package documentation and tests: the PeterNeumann and EnochRoot keys and signatures.
  const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
  const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
  const ENOCH_VKEY = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
  const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
  const PETER_SIG =
    '\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
  const ENOCH_SIG =
    '\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';

  /** name+id+base64(type || key); the base64 may contain '+', so split only at the first two. */
  const fields = (key: string): [string, string, Uint8Array] => {
    const match = /^([^+]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(key);
    if (!match) throw new Error(`not a note key: ${key}`);
    return [match[1]!, match[2]!, fromBase64(match[3]!)];
  };
  const keyOf = (vkey: string): { name: string; publicKey: Uint8Array } => {
    const [name, , bytes] = fields(vkey);
    return { name, publicKey: bytes.subarray(1) };
  };
  const peter = keyOf(PETER_VKEY);
  const enoch = keyOf(ENOCH_VKEY);

  it('recomputes the published key IDs and verifier keys', () => {
    expect(toHex(noteKeyHash(peter.name, peter.publicKey))).toBe('c74f20a3');
    expect(verifierKey(peter.name, peter.publicKey)).toBe(PETER_VKEY);
    expect(verifierKey(enoch.name, enoch.publicKey)).toBe(ENOCH_VKEY);
  });

  it('verifies the published signed note', async () => {
    expect(await verifyNote(`${TEXT}\n${PETER_SIG}`, [peter])).toEqual({ body: TEXT, verifiedBy: ['PeterNeumann'] });
    expect((await verifyNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`, [peter])).verifiedBy).toEqual(['PeterNeumann']);
    expect((await verifyNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`, [peter, enoch])).verifiedBy).toEqual([
      'PeterNeumann',
      'EnochRoot',
    ]);
    await expect(verifyNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`, [])).rejects.toThrow(
      /no signature from a trusted key/,
    );
    // Go's "invalid signature" case: four characters inserted into the signature.
    await expect(verifyNote(`${TEXT}\n${PETER_SIG.slice(0, 60)}ABCD${PETER_SIG.slice(60)}`, [peter])).rejects.toThrow(
      /does not verify/,
    );
  });

  it('reproduces the published signature byte for byte from the published private key', () => {
    const seed = fields(PETER_SKEY.slice('PRIVATE+KEY+'.length))[2].subarray(1);
    expect(seed.length).toBe(32);
    // PKCS#8 for Ed25519 (RFC 8410) is a fixed 16-byte prefix and the 32-byte seed.
    const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
    const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    expect(signNote(TEXT, peter.name, peter.publicKey, signerFor(privateKey))).toBe(`${TEXT}\n${PETER_SIG}`);
  });
});
