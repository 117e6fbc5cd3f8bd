/**
 * Transparency-log checkpoints (c2sp.org/tlog-checkpoint) carried in signed notes (c2sp.org/signed-note) with
 * Ed25519 signatures (signature type 0x01). These are the formats Go's sumdb, Sigstore and the transparency-dev
 * witnesses read, so a third party can check Verity's log heads with tools it already has.
 *
 * Parsing is strict on purpose: a note or checkpoint has exactly one accepted spelling, so two parties that
 * accept the same text agree on what it says.
 */
import { concatBytes, equalBytes, fromBase64, toBase64, toHex, utf8 } from './bytes.js';
import { sha256 } from './digest.js';
import { verifyEd25519 } from './ed25519.js';
import { AttestError } from './errors.js';

/** The signed-note signature type byte for Ed25519. */
const ED25519_TYPE = 0x01;
/** More signature lines than this make a note malformed (the spec requires accepting at least 16). */
const MAX_SIGNATURES = 100;
const EM_DASH = '\u2014';
/** A key name: non-empty, no Unicode space (JS \s, plus U+0085 which Go also counts), no '+'. */
const KEY_NAME = /^[^\s\u0085+]+$/;
const SIGNATURE_LINE = /^\u2014 ([^\s\u0085+]+) ([A-Za-z0-9+/=]+)$/;
const DECIMAL = /^(?:0|[1-9][0-9]*)$/;

export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  extensions: string[];
}

export interface NoteSignature {
  name: string;
  keyHash: Uint8Array;
  signature: Uint8Array;
}

function invalidNote(message: string): AttestError {
  return new AttestError('invalid_note', message);
}

/**
 * Refuses ASCII control characters other than newline (the signed-note spec forbids them) and lone UTF-16
 * surrogates, which have no UTF-8 encoding: TextEncoder would sign U+FFFD instead of what the text shows.
 */
function checkNoteCharacters(text: string, what: string): void {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) {
      throw invalidNote(
        `${what} contains control character U+${c.toString(16).padStart(4, '0').toUpperCase()} at offset ${i}; only newline is allowed`,
      );
    }
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff))
        throw invalidNote(`${what} contains a lone UTF-16 surrogate at offset ${i}, which is not valid UTF-8`);
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      throw invalidNote(`${what} contains a lone UTF-16 surrogate at offset ${i}, which is not valid UTF-8`);
    }
  }
}

/**
 * Standard base64 (RFC 4648 §4) in its one canonical spelling: padded, no URL-safe characters, zero spare bits.
 * Returns undefined for anything else, so each encoded value has exactly one accepted text.
 */
function decodeStandardBase64(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(text);
  } catch {
    return undefined;
  }
  return toBase64(bytes) === text ? bytes : undefined;
}

function checkKey(name: string, publicKey: Uint8Array): void {
  if (!KEY_NAME.test(name)) {
    throw new AttestError(
      'invalid_key',
      `key name ${JSON.stringify(name)} must be non-empty with no spaces or '+' (for example example.com/log)`,
    );
  }
  checkNoteCharacters(name, 'the key name');
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) {
    throw new AttestError('invalid_key', `the public key for ${name} is not a 32-byte Ed25519 key`);
  }
}

/** The checkpoint as note text (the body a log signs): origin, size, base64 root hash, then extension lines. */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  const { origin, size, rootHash, extensions } = checkpoint;
  if (origin === '' || origin.includes('\n')) throw invalidNote('the checkpoint origin must be one non-empty line');
  checkNoteCharacters(origin, 'the checkpoint origin');
  if (!Number.isSafeInteger(size) || size < 0)
    throw invalidNote(`the checkpoint tree size must be a whole number from 0 to 2^53 - 1, not ${size}`);
  if (!(rootHash instanceof Uint8Array) || rootHash.length !== 32)
    throw invalidNote('the checkpoint root hash must be 32 bytes');
  extensions.forEach((line, i) => {
    if (line === '' || line.includes('\n'))
      throw invalidNote(`checkpoint extension line ${i} must be one non-empty line`);
    checkNoteCharacters(line, `checkpoint extension line ${i}`);
  });
  return [origin, String(size), toBase64(rootHash), ...extensions].map((line) => `${line}\n`).join('');
}

/** Parses a checkpoint note body (not the signatures: see verifyNote). Throws AttestError('invalid_note'). */
export function parseCheckpoint(body: string): Checkpoint {
  checkNoteCharacters(body, 'the checkpoint');
  if (!body.endsWith('\n')) throw invalidNote('the checkpoint must end in a newline');
  const lines = body.slice(0, -1).split('\n');
  if (lines.length < 3) {
    throw invalidNote(`a checkpoint has at least 3 lines (origin, tree size, root hash); this one has ${lines.length}`);
  }
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin === '') throw invalidNote('the checkpoint origin (line 1) is empty');
  if (!DECIMAL.test(sizeText)) {
    throw invalidNote(
      `the checkpoint tree size (line 2) ${JSON.stringify(sizeText)} is not a decimal number without leading zeros`,
    );
  }
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) throw invalidNote(`the checkpoint tree size ${sizeText} is larger than 2^53 - 1`);
  const rootHash = decodeStandardBase64(rootText);
  if (rootHash === undefined) throw invalidNote('the checkpoint root hash (line 3) is not canonical standard base64');
  if (rootHash.length !== 32)
    throw invalidNote(`the checkpoint root hash (line 3) is ${rootHash.length} bytes; a SHA-256 root is 32`);
  const empty = extensions.indexOf('');
  if (empty >= 0) throw invalidNote(`checkpoint line ${empty + 4} is empty; extension lines must not be`);
  return { origin, size, rootHash, extensions };
}

/** The signed-note key ID of an Ed25519 key: SHA-256(name || 0x0A || 0x01 || publicKey)[:4]. */
export function noteKeyHash(name: string, publicKey: Uint8Array): Uint8Array {
  checkKey(name, publicKey);
  return sha256(concatBytes(utf8(name), new Uint8Array([0x0a, ED25519_TYPE]), publicKey)).slice(0, 4);
}

/** The verifier key string Go's sumdb/note and the witness ecosystem use: name+hex key ID+base64(0x01 || key). */
export function verifierKey(name: string, publicKey: Uint8Array): string {
  const hash = noteKeyHash(name, publicKey);
  return `${name}+${toHex(hash)}+${toBase64(concatBytes(new Uint8Array([ED25519_TYPE]), publicKey))}`;
}

/**
 * Signs `body` as a note with one Ed25519 signature line. `sign` must sign with the private key of `publicKey`;
 * that is not checked here (checking is async), so verify the result once when a key is first configured.
 */
export function signNote(
  body: string,
  name: string,
  publicKey: Uint8Array,
  sign: (message: Uint8Array) => Uint8Array,
): string {
  checkNoteCharacters(body, 'the note text');
  if (!body.endsWith('\n')) throw invalidNote('the note text must end in a newline');
  if (body.startsWith('\n') || body.includes('\n\n')) throw invalidNote('the note text must not contain a blank line');
  const keyHash = noteKeyHash(name, publicKey);
  const signature = sign(utf8(body));
  if (!(signature instanceof Uint8Array) || signature.length !== 64) {
    throw new AttestError('invalid_key', `the signer for ${name} did not return a 64-byte Ed25519 signature`);
  }
  return `${body}\n${EM_DASH} ${name} ${toBase64(concatBytes(keyHash, signature))}\n`;
}

/**
 * Splits a signed note into its text and signature lines, strictly (c2sp.org/signed-note). Nothing is verified:
 * the text of a note must not be used until verifyNote has accepted it.
 */
export function parseNote(text: string): { body: string; signatures: NoteSignature[] } {
  checkNoteCharacters(text, 'the note');
  const split = text.lastIndexOf('\n\n');
  if (split < 0) throw invalidNote('the note has no blank line between its text and its signatures');
  const body = text.slice(0, split + 1);
  const block = text.slice(split + 2);
  if (block === '') throw invalidNote('the note has no signature lines after its last blank line');
  if (!block.endsWith('\n')) throw invalidNote('the last signature line of the note does not end in a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES)
    throw invalidNote(`the note has ${lines.length} signature lines; at most ${MAX_SIGNATURES} are accepted`);
  const signatures = lines.map((line, i): NoteSignature => {
    const match = SIGNATURE_LINE.exec(line);
    if (!match) {
      throw invalidNote(
        `signature line ${i + 1} is not "${EM_DASH} <key name> <base64 signature>" (em dash U+2014, a key name without spaces or '+')`,
      );
    }
    const bytes = decodeStandardBase64(match[2]!);
    if (bytes === undefined) throw invalidNote(`signature line ${i + 1} is not canonical standard base64`);
    if (bytes.length < 4)
      throw invalidNote(`signature line ${i + 1} is ${bytes.length} bytes; it needs at least a 4-byte key ID`);
    return { name: match[1]!, keyHash: bytes.slice(0, 4), signature: bytes.slice(4) };
  });
  return { body, signatures };
}

/**
 * Verifies a signed note against trusted Ed25519 keys and returns its text with the names of the trusted keys
 * whose signatures verified (each once, in note order). Lines from unknown keys (name or key ID not both matching
 * a trusted key) are ignored. A line from a trusted key that fails to verify rejects the whole note, and so does a
 * note with no verified trusted signature. Throws AttestError('invalid_note'), or AttestError('invalid_key') when
 * a trusted key is malformed or two trusted keys share a name and key ID.
 */
export async function verifyNote(
  text: string,
  trusted: readonly { name: string; publicKey: Uint8Array }[],
): Promise<{ body: string; verifiedBy: string[] }> {
  const { body, signatures } = parseNote(text);
  const keys = trusted.map((key) => ({ ...key, keyHash: noteKeyHash(key.name, key.publicKey) }));
  const message = utf8(body);
  const verifiedBy: string[] = [];
  for (const line of signatures) {
    const matches = keys.filter((key) => key.name === line.name && equalBytes(key.keyHash, line.keyHash));
    if (matches.length === 0) continue;
    const key = matches[0]!;
    const id = `${key.name}+${toHex(key.keyHash)}`;
    if (matches.some((other) => !equalBytes(other.publicKey, key.publicKey))) {
      throw new AttestError('invalid_key', `two trusted keys share the name and key ID ${id}; remove one of them`);
    }
    if (!(await verifyEd25519(key.publicKey, message, line.signature))) {
      throw invalidNote(
        `the signature by trusted key ${id} does not verify: the note was changed after signing or the signature is corrupt`,
      );
    }
    if (!verifiedBy.includes(key.name)) verifiedBy.push(key.name);
  }
  if (verifiedBy.length === 0) {
    const names = trusted.map((key) => key.name).join(', ') || 'none';
    throw invalidNote(`the note has no signature from a trusted key (trusted: ${names})`);
  }
  return { body, verifiedBy };
}
