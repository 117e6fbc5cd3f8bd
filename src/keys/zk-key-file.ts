import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { ZkSigner } from '../zk/babyjub.js';
import { parseZkPublicKey } from '../zk/babyjub.js';
import { KeyStoreError } from './errors.js';
import { createPrivateFile, readPrivateFile } from './local-signer.js';

/**
 * A worker's Baby Jubjub key in `file` (64 hex characters, mode 0600), created on first use like its
 * Ed25519 key, with its public key next to it (`.pub`, JSON). Creating or reading one needs no circomlibjs
 * (src/zk/babyjub-public-key.ts): it loads only when a zk job needs a signature. By convention: worker.zk.key, worker.zk.pub.
 */
export function loadOrCreateZkSigner(file: string): ZkSigner {
  const pub = file.replace(/\.key$/, '') + '.pub';
  if (!existsSync(file)) {
    const signer = ZkSigner.generate();
    if (createPrivateFile(file, `${signer.privateKeyHex()}\n`)) {
      writeFileSync(pub, `${JSON.stringify(signer.publicKey)}\n`, { mode: 0o644 });
      return signer;
    }
  }
  const text = readPrivateFile(file).trim();
  if (!/^[0-9a-f]{64}$/.test(text))
    throw new KeyStoreError('unreadable', `${file} is not a Baby Jubjub private key (64 hex characters)`);
  const privateKey = new Uint8Array(Buffer.from(text, 'hex'));
  if (existsSync(pub)) {
    try {
      return ZkSigner.fromKeys(privateKey, parseZkPublicKey(JSON.parse(readFileSync(pub, 'utf8')), pub));
    } catch {
      // Unreadable or not a key: derive it again below and rewrite it.
    }
  }
  const signer = ZkSigner.fromPrivateKey(privateKey);
  writeFileSync(pub, `${JSON.stringify(signer.publicKey)}\n`, { mode: 0o644 });
  return signer;
}

/** worker.key → worker.zk.key */
export function zkKeyFileOf(ed25519KeyFile: string): string {
  return ed25519KeyFile.replace(/\.key$/, '') + '.zk.key';
}
