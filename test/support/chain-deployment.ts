import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import type { PrivateKeyAccount } from 'viem/accounts';
import { loadOrCreateAttestorKey } from '../../src/chain/attestor-key.js';
import { addressBindingToSign } from '../../src/chain/address-binding-statement.js';
import type { DeploymentRecord } from '../../src/chain/deployment-record.js';

/**
 * A deployment record as `verity chain deploy` writes it, without a chain: the data directory's attestor key
 * (made if missing) and made-up contract addresses. The binding routes never talk to the chain.
 */
export function recordDeployment(dataDir: string, chainId: number, overrides: Partial<DeploymentRecord> = {}) {
  const attestor = loadOrCreateAttestorKey(join(dataDir, 'keys', 'attestor.key'));
  const record: DeploymentRecord = {
    chainId,
    token: privateKeyToAccount(generatePrivateKey()).address,
    settlement: privateKeyToAccount(generatePrivateKey()).address,
    attestor: attestor.address,
    admin: privateKeyToAccount(generatePrivateKey()).address,
    ...overrides,
  };
  mkdirSync(join(dataDir, 'chain'), { recursive: true, mode: 0o700 });
  writeFileSync(join(dataDir, 'chain', `${chainId}.json`), JSON.stringify(record, null, 2) + '\n');
  return record;
}

/** A fresh account and its signature binding itself to `principal` on the deployment. */
export async function signedBinding(
  deployment: Pick<DeploymentRecord, 'chainId' | 'settlement'>,
  principal: string,
  account: PrivateKeyAccount = privateKeyToAccount(generatePrivateKey()),
): Promise<{ account: PrivateKeyAccount; address: string; signature: string }> {
  const signature = await account.signTypedData(
    addressBindingToSign(deployment.chainId, deployment.settlement, principal, account.address),
  );
  return { account, address: account.address, signature };
}
