import { concatBytes, fromCanonicalBase64, toBase64, utf8 } from './bytes.js';
import { sha256Hex } from './digest.js';
import { verifyEd25519 } from './ed25519.js';
import { AttestError } from './errors.js';
import type { Signer } from './keys.js';

/** DSSE (Dead Simple Signing Envelope) v1, as in-toto and Sigstore use it. */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

export interface EnvelopeSignature {
  keyid: string;
  sig: string;
}

export interface Envelope {
  payloadType: string;
  /** Standard base64 of the payload bytes. */
  payload: string;
  signatures: EnvelopeSignature[];
}

/**
 * The pre-authentication encoding a DSSE signature covers:
 * "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, with LEN the decimal byte length. Binding the type
 * into the signed bytes is what stops a signature made for one kind of statement passing for another.
 */
export function pae(payloadType: string, body: Uint8Array): Uint8Array {
  const type = utf8(payloadType);
  return concatBytes(utf8(`DSSEv1 ${type.length} `), type, utf8(` ${body.length} `), body);
}

export function signEnvelope(payloadType: string, payload: Uint8Array, signer: Signer): Envelope {
  return {
    payloadType,
    payload: toBase64(payload),
    signatures: [{ keyid: signer.keyId, sig: toBase64(signer.sign(pae(payloadType, payload))) }],
  };
}

/** Decoded payloads by envelope: a verifier reads each payload several times (signature, statement, digest). */
const decoded = new WeakMap<Envelope, { payload: string; bytes: Uint8Array; digest?: string }>();

/**
 * The payload bytes. The base64 must be canonical (what `toBase64` would write), so that one payload has
 * exactly one encoding and any changed character of an envelope is a changed envelope.
 */
export function envelopePayload(envelope: Envelope): Uint8Array {
  const hit = decoded.get(envelope);
  if (hit && hit.payload === envelope.payload) return hit.bytes;
  let bytes: Uint8Array;
  try {
    bytes = fromCanonicalBase64(envelope.payload);
  } catch (error) {
    throw new AttestError(
      'invalid_envelope',
      `the envelope payload is not canonical standard base64: ${(error as Error).message}`,
      { cause: error },
    );
  }
  decoded.set(envelope, { payload: envelope.payload, bytes });
  return bytes;
}

/** The digest that names a signed statement: hex SHA-256 of the DSSE payload bytes, as signed. */
export function envelopeDigest(envelope: Envelope): string {
  const bytes = envelopePayload(envelope);
  const entry = decoded.get(envelope)!;
  entry.digest ??= sha256Hex(bytes);
  return entry.digest;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/**
 * Checks one Ed25519 signature. The default is WebCrypto (any platform); executing parts that verify on
 * their hot path (the coordinator accepting results) pass Node's synchronous one, which skips a thread hop.
 */
export type SignatureVerifier = (
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
) => boolean | Promise<boolean>;

/**
 * Checks that the envelope carries exactly one signature, by `keyId`, valid for `publicKey` over the PAE
 * of its own payload type and payload.
 */
export async function checkEnvelopeSignature(
  envelope: Envelope,
  keyId: string,
  publicKey: Uint8Array,
  verify: SignatureVerifier = verifyEd25519,
): Promise<SignatureCheck> {
  if (envelope.signatures.length !== 1) {
    return { ok: false, reason: `expected exactly one signature, found ${envelope.signatures.length}` };
  }
  const [signature] = envelope.signatures as [EnvelopeSignature];
  if (signature.keyid !== keyId) return { ok: false, reason: `signed by keyid ${signature.keyid}, expected ${keyId}` };
  let payload: Uint8Array;
  let sig: Uint8Array;
  try {
    payload = envelopePayload(envelope);
    sig = fromCanonicalBase64(signature.sig);
  } catch (error) {
    return { ok: false, reason: `malformed envelope: ${(error as Error).message}` };
  }
  const valid = await verify(publicKey, pae(envelope.payloadType, payload), sig);
  return valid ? { ok: true } : { ok: false, reason: `the signature by ${keyId} does not verify` };
}
