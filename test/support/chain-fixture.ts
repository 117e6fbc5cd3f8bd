import { join } from 'node:path';
import { keccak256, maxUint256, stringToBytes } from 'viem';
import type { Address, Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import type { PrivateKeyAccount } from 'viem/accounts';
import { compileContracts, verityContract } from '../../src/chain/compile.js';
import {
  SETTLEMENT_DOMAIN_NAME,
  addressBindingMessage,
  addressBindingTypedData,
  verityDomain,
} from '../../src/chain/typed-data.js';
import type { CompiledContract } from '../../src/chain/compile.js';
import { InProcessChain } from './evm-chain.js';
import type { Contract } from './evm-chain.js';

/** A deterministic key per role, so that failures reproduce. */
export function testAccount(label: string): PrivateKeyAccount {
  return privateKeyToAccount(keccak256(stringToBytes(`verity chain test ${label}`)));
}

let testToken: CompiledContract | undefined;

/** TestToken: a plain ERC-20 anyone can mint (test/support/contracts/). */
function testTokenContract(): CompiledContract {
  testToken ??= compileContracts(join(import.meta.dirname, 'contracts')).get('TestToken');
  if (!testToken) throw new Error('test/support/contracts/ has no TestToken');
  return testToken;
}

export const REWARD_CAP_PER_RECEIPT = 1_000_000n;
export const MINT_BUDGET = 2_500_000n;
export const PAYER_FUNDS = 50_000_000n;

export interface ChainFixture {
  chain: InProcessChain;
  accounts: Record<
    'admin' | 'coordinator' | 'attestor' | 'stranger' | 'payer' | 'worker' | 'publisher' | 'platform',
    PrivateKeyAccount
  >;
  token: Contract;
  settlement: Contract;
  /** The ERC-20 the escrow holds in these tests. */
  usd: Contract;
}

/**
 * Both contracts deployed by the admin, the coordinator appointed on both and the attestor appointed by the
 * coordinator (ATTESTOR_ROLE's admin is COORDINATOR_ROLE), a reward policy set, and a payer holding test USD
 * it has approved the escrow to take.
 */
export async function chainFixture(): Promise<ChainFixture> {
  const chain = await InProcessChain.create();
  const accounts = {
    admin: testAccount('admin'),
    coordinator: testAccount('coordinator'),
    attestor: testAccount('attestor'),
    stranger: testAccount('stranger'),
    payer: testAccount('payer'),
    worker: testAccount('worker'),
    publisher: testAccount('publisher'),
    platform: testAccount('platform'),
  };
  const admin = accounts.admin.address;
  const token = await chain.deploy(verityContract('VerityToken'), [admin], admin);
  const settlement = await chain.deploy(verityContract('VeritySettlement'), [admin], admin);
  const usd = await chain.deploy(testTokenContract(), [], admin);
  for (const contract of [token, settlement]) {
    const coordinatorRole = (await chain.read(contract, 'COORDINATOR_ROLE')) as Hex;
    const attestorRole = (await chain.read(contract, 'ATTESTOR_ROLE')) as Hex;
    await chain.send(contract, 'grantRole', [coordinatorRole, accounts.coordinator.address], admin);
    await chain.send(contract, 'grantRole', [attestorRole, accounts.attestor.address], accounts.coordinator.address);
  }
  await chain.send(token, 'setRewardPolicy', [REWARD_CAP_PER_RECEIPT, MINT_BUDGET], admin);
  await chain.send(usd, 'mint', [accounts.payer.address, PAYER_FUNDS], admin);
  await chain.send(usd, 'approve', [settlement.address, maxUint256], accounts.payer.address);
  const fixture = { chain, accounts, token, settlement, usd };
  // The escrow pays only bound accounts: the three that completed runs pay.
  await bindPayee(fixture, accounts.worker, 'worker:w1');
  await bindPayee(fixture, accounts.platform, 'sys:platform');
  await bindPayee(fixture, accounts.publisher, 'acme');
  return fixture;
}

/** The account's holder signs its AddressBinding to `principal` and the coordinator registers it with the escrow. */
export async function bindPayee(fixture: ChainFixture, account: PrivateKeyAccount, principal: string): Promise<void> {
  const message = addressBindingMessage(principal, account.address);
  const domain = verityDomain(SETTLEMENT_DOMAIN_NAME, fixture.chain.chainId, fixture.settlement.address);
  const signature = await account.signTypedData(addressBindingTypedData(domain, message));
  await fixture.chain.send(
    fixture.settlement,
    'bindPayee',
    [message.principal, message.account, signature],
    fixture.accounts.coordinator.address,
  );
}

export async function balanceOf(fixture: ChainFixture, token: Contract, who: Address): Promise<bigint> {
  return (await fixture.chain.read(token, 'balanceOf', [who])) as bigint;
}
