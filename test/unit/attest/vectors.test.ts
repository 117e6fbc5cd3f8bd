import { createHash, createPrivateKey } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64, fromHex, toBase64, toHex, utf8 } from '../../../src/attest/bytes.js';
import { canonicalJson } from '../../../src/attest/canonical.js';
import { jsonDigest, sha256Hex } from '../../../src/attest/digest.js';
import { pae } from '../../../src/attest/dsse.js';
import { verifyEd25519 } from '../../../src/attest/ed25519.js';
import { keyIdOf, publicKeyFromPem, publicKeyToPem } from '../../../src/attest/keys.js';
import { LocalSigner } from '../../../src/keys/local-signer.js';

describe('DSSE pre-authentication encoding', () => {
  it('matches the DSSE specification example', () => {
    expect(new TextDecoder().decode(pae('http://example.com/HelloWorld', utf8('hello world')))).toBe(
      'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
    );
  });

  it('counts bytes, not characters', () => {
    expect(new TextDecoder().decode(pae('tÿpe', utf8('€')))).toBe('DSSEv1 5 tÿpe 3 €');
  });
});

// RFC 8032 §7.1, TESTS 1-3: secret key (seed), public key, message, signature.
const RFC8032 = [
  {
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    seed: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    publicKey: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature:
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
];

/** A node:crypto private key from a raw 32-byte seed (PKCS#8 DER: fixed prefix + seed). */
function signerFromSeed(seed: string): LocalSigner {
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seed, 'hex')]);
  return new LocalSigner(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
}

describe('Ed25519 (RFC 8032 test vectors)', () => {
  it.each(RFC8032.map((v, i) => [i + 1, v] as const))(
    'TEST %i: signing gives the published signature and it verifies',
    async (_, v) => {
      const signer = signerFromSeed(v.seed);
      expect(toHex(signer.publicKey)).toBe(v.publicKey);
      expect(toHex(signer.sign(fromHex(v.message)))).toBe(v.signature);
      expect(await verifyEd25519(fromHex(v.publicKey), fromHex(v.message), fromHex(v.signature))).toBe(true);
    },
  );

  it('rejects a flipped bit in the signature, the message or the key, and malformed lengths', async () => {
    const v = RFC8032[1]!;
    const flip = (hex: string, byte: number) => {
      const bytes = fromHex(hex);
      bytes[byte]! ^= 1;
      return bytes;
    };
    expect(await verifyEd25519(fromHex(v.publicKey), fromHex(v.message), flip(v.signature, 10))).toBe(false);
    expect(await verifyEd25519(fromHex(v.publicKey), flip(v.message, 0), fromHex(v.signature))).toBe(false);
    expect(await verifyEd25519(flip(v.publicKey, 5), fromHex(v.message), fromHex(v.signature))).toBe(false);
    expect(await verifyEd25519(fromHex(v.publicKey), fromHex(v.message), fromHex(v.signature).slice(0, 63))).toBe(
      false,
    );
    expect(await verifyEd25519(fromHex(v.publicKey).slice(1), fromHex(v.message), fromHex(v.signature))).toBe(false);
  });
});

describe('RFC 8785 canonical JSON', () => {
  it('serializes the RFC example (§3.2.2)', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    ) as unknown;
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('sorts properties by UTF-16 code units (§3.2.3)', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    // Read the order off the text: a parsed object would list the integer-like key "1" first whatever the text says.
    const values = [...canonicalJson(input).matchAll(/:"([^"]+)"/g)].map((m) => m[1]);
    expect(values).toEqual([
      'Carriage Return',
      'One',
      'Control',
      'Latin Small Letter O With Diaeresis',
      'Euro Sign',
      'Emoji: Grinning Face',
      'Hebrew Letter Dalet With Dagesh',
    ]);
  });

  it.each([
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ])('serializes the IEEE-754 double %s as %s (Appendix B)', (bits, text) => {
    const view = new DataView(new ArrayBuffer(8));
    view.setBigUint64(0, BigInt(`0x${bits}`));
    expect(canonicalJson(view.getFloat64(0))).toBe(text);
  });

  it('refuses what JSON cannot represent', () => {
    expect(() => canonicalJson({ a: NaN })).toThrow(/NaN/);
    expect(() => canonicalJson([Infinity])).toThrow(/Infinity/);
    expect(() => canonicalJson(() => 1)).toThrow(/function/);
  });
});

describe('digests and encodings', () => {
  it('SHA-256 (pure JavaScript) agrees with node:crypto on any input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), (bytes) => {
        expect(sha256Hex(bytes)).toBe(createHash('sha256').update(bytes).digest('hex'));
      }),
      { numRuns: 200 },
    );
  });

  it('digests JSON values by their canonical form, whatever their key order', () => {
    expect(jsonDigest({ b: 1, a: [1, 'x'] })).toBe(jsonDigest({ a: [1, 'x'], b: 1 }));
    expect(jsonDigest({ a: 1 })).toBe(createHash('sha256').update('{"a":1}').digest('hex'));
  });

  it('base64 round-trips any bytes and accepts URL-safe and unpadded forms', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const text = toBase64(bytes);
        expect(text).toBe(Buffer.from(bytes).toString('base64'));
        expect(fromBase64(text)).toEqual(bytes);
        expect(fromBase64(Buffer.from(bytes).toString('base64url'))).toEqual(bytes);
      }),
    );
    expect(() => fromBase64('ab$c')).toThrow();
    expect(() => fromBase64('a')).toThrow();
  });

  it('hex is lowercase only', () => {
    expect(toHex(fromHex('00ff10'))).toBe('00ff10');
    expect(() => fromHex('00FF')).toThrow();
    expect(() => fromHex('abc')).toThrow();
  });
});

describe('Ed25519 public keys', () => {
  it('keyid is the hex SHA-256 of the raw key; PEM (SPKI) round-trips and matches node:crypto', () => {
    const signer = LocalSigner.generate();
    expect(signer.keyId).toBe(createHash('sha256').update(signer.publicKey).digest('hex'));
    expect(keyIdOf(signer.publicKey)).toBe(signer.keyId);
    expect(publicKeyFromPem(signer.publicKeyPem)).toEqual(signer.publicKey);
    expect(publicKeyToPem(signer.publicKey)).toBe(signer.publicKeyPem);
  });

  it('refuses other keys and garbage', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString();
    expect(() => publicKeyFromPem(ec)).toThrow(/not an Ed25519 public key/);
    expect(() => publicKeyFromPem('hello')).toThrow(/not a PEM public key/);
    expect(() => keyIdOf(new Uint8Array(31))).toThrow(/32 bytes/);
  });
});
