import { concatBytes, equalBytes, fromBase64, fromHex, toBase64 } from './bytes.js';
import { sha256Hex } from './digest.js';
import { AttestError } from './errors.js';

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING }. */
const ED25519_SPKI_PREFIX = fromHex('302a300506032b6570032100');

/** A keyid: the lowercase hex SHA-256 of the raw 32-byte public key. */
export function keyIdOf(publicKey: Uint8Array): string {
  if (publicKey.length !== 32) throw new AttestError('invalid_key', 'an Ed25519 public key is 32 bytes');
  return sha256Hex(publicKey);
}

/** The raw 32-byte key inside an Ed25519 public key PEM (SPKI). Anything else is refused. */
export function publicKeyFromPem(pem: string): Uint8Array {
  const match = /^-----BEGIN PUBLIC KEY-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END PUBLIC KEY-----\s*$/.exec(
    pem.trim() + '\n',
  );
  if (!match) throw new AttestError('invalid_key', 'not a PEM public key (-----BEGIN PUBLIC KEY-----)');
  let der: Uint8Array;
  try {
    der = fromBase64(match[1]!.replace(/[\r\n]/g, ''));
  } catch (error) {
    throw new AttestError('invalid_key', 'the PEM body is not base64', { cause: error });
  }
  if (der.length !== 44 || !equalBytes(der.subarray(0, 12), ED25519_SPKI_PREFIX)) {
    throw new AttestError('invalid_key', 'not an Ed25519 public key (SPKI with OID 1.3.101.112)');
  }
  return der.slice(12);
}

export function publicKeyToPem(publicKey: Uint8Array): string {
  if (publicKey.length !== 32) throw new AttestError('invalid_key', 'an Ed25519 public key is 32 bytes');
  const body = toBase64(concatBytes(ED25519_SPKI_PREFIX, publicKey));
  return `-----BEGIN PUBLIC KEY-----\n${body}\n-----END PUBLIC KEY-----\n`;
}

/** Something that can sign: the executing parts hold one (src/keys/); verification never needs it. */
export interface Signer {
  readonly keyId: string;
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}
