import { existsSync } from 'node:fs';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import type { PrivateKeyAccount } from 'viem/accounts';
import type { Hex } from 'viem';
import { createPrivateFile, readPrivateFile } from '../keys/local-signer.js';
import { ChainError } from './errors.js';

/**
 * The coordinator's secp256k1 attestor key: what signs Settlement and ReceiptMint messages for the contracts.
 * It is a different key from the Ed25519 coordinator key that signs receipts, because the EVM can only recover
 * secp256k1 signers (ecrecover), and a separate key can be rotated on chain (ATTESTOR_ROLE) without touching
 * the receipts' trust root.
 */

/** `<dataDir>/keys/attestor.key`, beside the coordinator's Ed25519 key. */
export const ATTESTOR_KEY_FILE = 'attestor.key';

/** A private key file's content: 0x and 64 hex digits (what viem and wallets import), one line. */
export function parsePrivateKeyHex(text: string, file: string): Hex {
  const key = text.trim();
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) {
    // The content itself is never quoted: it may be a key with a typo.
    throw new ChainError('invalid_key', `${file} does not hold a secp256k1 private key as 0x and 64 hex digits`, {
      context: { file },
    });
  }
  return key.toLowerCase() as Hex;
}

/**
 * The account of the key in `file`, created on first use (mode 0600, in a 0700 directory). Two processes
 * starting at once end up with one key (createPrivateFile links a complete file into place or loses the race);
 * a file group or others can read is refused (KeyStoreError 'insecure_permissions'), as for the coordinator key.
 */
export function loadOrCreateAttestorKey(file: string): PrivateKeyAccount {
  if (!existsSync(file)) createPrivateFile(file, `${generatePrivateKey()}\n`);
  return loadPrivateKeyAccount(file);
}

/** The account of an existing private key file (a payer's, a deployer's), with the same permission check. */
export function loadPrivateKeyAccount(file: string): PrivateKeyAccount {
  return privateKeyToAccount(parsePrivateKeyHex(readPrivateFile(file), file));
}
