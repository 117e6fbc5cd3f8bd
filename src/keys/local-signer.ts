import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { dirname } from 'node:path';
import { keyIdOf, publicKeyToPem } from '../attest/keys.js';
import type { Signer } from '../attest/keys.js';
import { KeyStoreError } from './errors.js';

/** An Ed25519 key held by this process (node:crypto), as the coordinator and workers hold theirs. */
export class LocalSigner implements Signer {
  readonly keyId: string;
  readonly publicKey: Uint8Array;

  constructor(private readonly privateKey: KeyObject) {
    if (privateKey.asymmetricKeyType !== 'ed25519') {
      throw new KeyStoreError(
        'wrong_type',
        `expected an Ed25519 private key, got ${privateKey.asymmetricKeyType ?? 'a non-asymmetric key'}`,
      );
    }
    const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
    this.publicKey = new Uint8Array(spki.subarray(spki.length - 32));
    this.keyId = keyIdOf(this.publicKey);
  }

  static generate(): LocalSigner {
    return new LocalSigner(generateKeyPairSync('ed25519').privateKey);
  }

  static fromPem(pem: string): LocalSigner {
    try {
      return new LocalSigner(createPrivateKey(pem));
    } catch (error) {
      if (error instanceof KeyStoreError) throw error;
      throw new KeyStoreError('unreadable', `not a private key PEM: ${(error as Error).message}`, { cause: error });
    }
  }

  get publicKeyPem(): string {
    return publicKeyToPem(this.publicKey);
  }

  privateKeyPem(): string {
    return this.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  }

  sign(message: Uint8Array): Uint8Array {
    return new Uint8Array(sign(null, message, this.privateKey));
  }
}

/**
 * The key in `file` (PKCS#8 PEM), created on first use with mode 0600 next to its public key (`.pub`).
 * Two processes starting at once on one data directory end up with one key.
 * A private key others can read is refused, as ssh refuses one.
 */
export function loadOrCreateSigner(file: string): LocalSigner {
  if (!existsSync(file)) {
    const signer = LocalSigner.generate();
    if (createPrivateFile(file, signer.privateKeyPem())) {
      writeFileSync(publicKeyFile(file), signer.publicKeyPem, { mode: 0o644 });
      return signer;
    }
  }
  return loadSigner(file);
}

export function loadSigner(file: string): LocalSigner {
  return LocalSigner.fromPem(readPrivateFile(file));
}

/**
 * Writes a new private file (mode 0600) unless it exists; false when another process got there first.
 * The content goes to a private temporary file that is then linked into place: the link either creates
 * the file complete or fails, never leaving a partial key.
 */
export function createPrivateFile(file: string, content: string): boolean {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(temporary, content, { mode: 0o600, flag: 'wx' });
    linkSync(temporary, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new KeyStoreError('unreadable', `cannot create key ${file}: ${(error as Error).message}`, { cause: error });
    }
    return false;
  } finally {
    rmSync(temporary, { force: true });
  }
}

/** A private key file's text; refused when others can read it. */
export function readPrivateFile(file: string): string {
  try {
    const mode = statSync(file).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new KeyStoreError(
        'insecure_permissions',
        `private key ${file} is readable by others (mode ${mode.toString(8)}); run chmod 600 ${file}`,
      );
    }
    return readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof KeyStoreError) throw error;
    throw new KeyStoreError('unreadable', `cannot read key ${file}: ${(error as Error).message}`, { cause: error });
  }
}

export function publicKeyFile(privateKeyFile: string): string {
  return privateKeyFile.replace(/\.key$/, '') + '.pub';
}
