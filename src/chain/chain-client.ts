import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  defineChain,
  erc20Abi,
  getAddress,
  hashTypedData,
  http,
  keccak256,
  parseEventLogs,
  stringToHex,
} from 'viem';
import type { Abi, Address, Chain, Hex, LocalAccount, PublicClient, TransactionReceipt } from 'viem';
import { compileSource, verityContract } from './compile.js';
import { ChainError } from './errors.js';
import {
  addressBindingTypedData,
  orderTypedData,
  receiptMintTypedData,
  settlementTypedData,
  SETTLEMENT_DOMAIN_NAME,
  TOKEN_DOMAIN_NAME,
  verityDomain,
} from './typed-data.js';
import type { AddressBindingMessage, OrderMessage, ReceiptMintMessage, SettlementMessage } from './typed-data.js';
import type { ZkBatchArgument } from './zk-batches.js';

/** An AccessControl role's id, as both contracts define it (`keccak256("NAME")`): no call needed to learn it. */
const roleId = (name: 'COORDINATOR_ROLE' | 'ATTESTOR_ROLE'): Hex => keccak256(stringToHex(name));
const COORDINATOR_ROLE = roleId('COORDINATOR_ROLE');
const ATTESTOR_ROLE = roleId('ATTESTOR_ROLE');

/** Where Verity's two contracts live on one chain. */
export interface ChainAddresses {
  token: Address;
  settlement: Address;
}

export interface RewardPolicy {
  maxPerReceipt: bigint;
  budget: bigint;
}

export interface SettledEvent {
  executionId: Hex;
  revision: bigint;
  receiptDigest: Hex;
  payer: Address;
  total: bigint;
  paidNow: bigint;
}

/** What `settleWithProofs` needs beyond a settlement: the execution id's text and its batches, in order. */
export interface ZkSettlementProofs {
  executionId: string;
  batches: readonly ZkBatchArgument[];
}

export interface EscrowState {
  deposited: bigint;
  spent: bigint;
  lastRevision: number;
  executionId: Hex;
}

export interface ChainStatus {
  chainId: number;
  addresses: ChainAddresses;
  attestor: { address: Address; onToken: boolean; onSettlement: boolean };
  escrow?: EscrowState;
  balances: { account: Address; token: Address; balance: bigint }[];
}

/**
 * Verity's contracts over JSON-RPC (viem's public and wallet clients on `http(url)`). Every transaction is
 * simulated first (eth_call), so a revert comes back as ChainError('reverted') naming the contract's custom
 * error instead of as a mined failed transaction that costs gas.
 */
export class ChainClient {
  private constructor(
    readonly url: string,
    readonly chain: Chain,
    private readonly reader: PublicClient,
  ) {}

  /** Connects to the node at `url` and learns its chain id (every signature is bound to it). */
  static async connect(url: string): Promise<ChainClient> {
    const probe = createPublicClient({ transport: http(url, { retryCount: 0 }) });
    const chainId = await rpc(url, () => probe.getChainId());
    const chain = defineChain({
      id: chainId,
      name: `chain ${chainId}`,
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [url] } },
    });
    return new ChainClient(url, chain, createPublicClient({ chain, transport: http(url, { retryCount: 0 }) }));
  }

  get chainId(): number {
    return this.chain.id;
  }

  /**
   * Deploys VerityToken and VeritySettlement with `admin` as their admin, makes `admin` their coordinator
   * (COORDINATOR_ROLE administers ATTESTOR_ROLE) and appoints `attestor`; sets the token's reward policy when given
   * (without one, minting stays disabled). The bytecode targets Prague (compile.ts): the node must run it.
   */
  async deployContracts(
    admin: LocalAccount,
    attestor: Address,
    options: { rewardPolicy?: RewardPolicy } = {},
  ): Promise<ChainAddresses> {
    const token = await this.deploy(admin, 'VerityToken');
    const settlement = await this.deploy(admin, 'VeritySettlement');
    for (const address of [token, settlement]) {
      const abi = settlementAbi(); // both share AccessControl's roles
      await this.write(admin, address, abi, 'grantRole', [COORDINATOR_ROLE, admin.address]);
      await this.write(admin, address, abi, 'grantRole', [ATTESTOR_ROLE, attestor]);
    }
    if (options.rewardPolicy) {
      const { maxPerReceipt, budget } = options.rewardPolicy;
      await this.write(admin, token, tokenAbi(), 'setRewardPolicy', [maxPerReceipt, budget]);
    }
    return { token, settlement };
  }

  /** The attestor's EIP-712 signature of a settlement, for the escrow at `settlement` on this chain. */
  signSettlement(attestor: LocalAccount, settlement: Address, message: SettlementMessage): Promise<Hex> {
    return attestor.signTypedData(settlementTypedData(this.settlementDomain(settlement), message));
  }

  /** The attestor's EIP-712 signature of a receipt's mint, for the token at `token` on this chain. */
  signReceiptMint(attestor: LocalAccount, token: Address, message: ReceiptMintMessage): Promise<Hex> {
    return attestor.signTypedData(receiptMintTypedData(verityDomain(TOKEN_DOMAIN_NAME, this.chainId, token), message));
  }

  /** A payer's EIP-712 signature of its order (the payer signs its own; the CLI never holds a payer's key for this). */
  signOrder(payer: LocalAccount, settlement: Address, order: OrderMessage): Promise<Hex> {
    return payer.signTypedData(orderTypedData(this.settlementDomain(settlement), order));
  }

  /** An account holder's EIP-712 signature binding its address to a principal, for the escrow at `settlement`. */
  signAddressBinding(account: LocalAccount, settlement: Address, message: AddressBindingMessage): Promise<Hex> {
    return account.signTypedData(addressBindingTypedData(this.settlementDomain(settlement), message));
  }

  /** An order's EIP-712 digest for the escrow at `settlement` on this chain: what the payer signs, and what names its escrow. */
  orderDigest(settlement: Address, order: OrderMessage): Hex {
    return hashTypedData(orderTypedData(this.settlementDomain(settlement), order));
  }

  private settlementDomain(settlement: Address) {
    return verityDomain(SETTLEMENT_DOMAIN_NAME, this.chainId, settlement);
  }

  /** The contract's own digests, to check an off-chain signer agrees with it. */
  hashOrder(settlement: Address, order: OrderMessage): Promise<Hex> {
    return this.read<Hex>(settlement, settlementAbi(), 'hashOrder', [order]);
  }

  hashSettlement(settlement: Address, message: SettlementMessage): Promise<Hex> {
    return this.read<Hex>(settlement, settlementAbi(), 'hashSettlement', [message]);
  }

  /** The payer approves the escrow for `amount` of the order's token (when it has not already) and deposits it. */
  async deposit(payer: LocalAccount, settlement: Address, order: OrderMessage, amount: bigint): Promise<Hex> {
    const allowance = await this.read<bigint>(order.token, erc20Abi, 'allowance', [payer.address, settlement]);
    if (allowance < amount) await this.write(payer, order.token, erc20Abi, 'approve', [settlement, amount]);
    return (await this.write(payer, settlement, settlementAbi(), 'deposit', [order, amount])).transactionHash;
  }

  /**
   * Submits a settlement (from any account: the signatures authorise it) and returns its Settled event. With
   * `zk` it goes to `settleWithProofs`, which an order that pins a zk verifier requires.
   */
  async settle(
    sender: LocalAccount,
    settlement: Address,
    order: OrderMessage,
    orderSignature: Hex,
    message: SettlementMessage,
    attestorSignature: Hex,
    zk?: ZkSettlementProofs,
  ): Promise<{ transactionHash: Hex; settled: SettledEvent }> {
    const args = [order, orderSignature, message, attestorSignature];
    const receipt = zk
      ? await this.write(sender, settlement, settlementAbi(), 'settleWithProofs', [...args, zk.executionId, zk.batches])
      : await this.write(sender, settlement, settlementAbi(), 'settle', args);
    const [event] = parseEventLogs({ abi: settlementAbi(), logs: receipt.logs, eventName: 'Settled' });
    if (!event) throw new ChainError('rpc_failed', `transaction ${receipt.transactionHash} emitted no Settled event`);
    return { transactionHash: receipt.transactionHash, settled: event.args as unknown as SettledEvent };
  }

  /**
   * After the order's deadline, sends what its settlements did not spend back to the payer (from any
   * account: the escrow pays only the payer). Returns the amount the Reclaimed event says went back.
   */
  async reclaim(
    sender: LocalAccount,
    settlement: Address,
    order: OrderMessage,
  ): Promise<{ transactionHash: Hex; amount: bigint }> {
    const receipt = await this.write(sender, settlement, settlementAbi(), 'reclaim', [order]);
    const [event] = parseEventLogs({ abi: settlementAbi(), logs: receipt.logs, eventName: 'Reclaimed' });
    if (!event) throw new ChainError('rpc_failed', `transaction ${receipt.transactionHash} emitted no Reclaimed event`);
    return { transactionHash: receipt.transactionHash, amount: (event.args as unknown as { amount: bigint }).amount };
  }

  /** The coordinator binds `account` to a principal with the account holder's signature (COORDINATOR_ROLE only). */
  async bindPayee(coordinator: LocalAccount, settlement: Address, binding: AddressBindingMessage, signature: Hex) {
    const args = [binding.principal, binding.account, signature];
    return (await this.write(coordinator, settlement, settlementAbi(), 'bindPayee', args)).transactionHash;
  }

  /** The principal `account` is bound to, or zero when the escrow would refuse to pay it. */
  payeePrincipal(settlement: Address, account: Address): Promise<Hex> {
    return this.read<Hex>(settlement, settlementAbi(), 'payeePrincipal', [account]);
  }

  /** The coordinator accepts a registry root of worker keys for zk proofs (COORDINATOR_ROLE only). */
  async acceptRegistryRoot(coordinator: LocalAccount, settlement: Address, root: bigint): Promise<Hex> {
    return (await this.write(coordinator, settlement, settlementAbi(), 'acceptRegistryRoot', [root])).transactionHash;
  }

  acceptedRegistryRoot(settlement: Address, root: bigint): Promise<boolean> {
    return this.read<boolean>(settlement, settlementAbi(), 'acceptedRegistryRoot', [root]);
  }

  /**
   * Compiles and deploys a Groth16 verifier's source (`exportSolidityVerifier`, contract `name`): the address
   * a buyer pins as an order's `zkVerifier`. Its constructor takes nothing.
   */
  async deployVerifier(sender: LocalAccount, source: string, name = 'Groth16Verifier'): Promise<Address> {
    const { abi, bytecode } = compileSource(source, name);
    return this.deployBytecode(sender, name, abi, bytecode, []);
  }

  /** Submits a receipt's mint (from any account: the attestor's signature authorises it). */
  async mint(sender: LocalAccount, token: Address, message: ReceiptMintMessage, attestorSignature: Hex): Promise<Hex> {
    return (await this.write(sender, token, tokenAbi(), 'mintWithReceipt', [message, attestorSignature]))
      .transactionHash;
  }

  /** What the chain says about a deployment: the attestor's roles, an order's escrow, some balances. */
  async status(
    addresses: ChainAddresses,
    attestor: Address,
    query: { orderDigest?: Hex; accounts?: readonly Address[]; erc20?: Address } = {},
  ): Promise<ChainStatus> {
    for (const address of [addresses.token, addresses.settlement]) {
      const code = await rpc(this.url, () => this.reader.getCode({ address }));
      if (code === undefined || code === '0x') {
        throw new ChainError('not_deployed', `no contract at ${address} on chain ${this.chainId}`, {
          context: { address, chainId: this.chainId },
        });
      }
    }
    const abi = settlementAbi();
    const holds = (address: Address) => this.read<boolean>(address, abi, 'hasRole', [ATTESTOR_ROLE, attestor]);
    const status: ChainStatus = {
      chainId: this.chainId,
      addresses,
      attestor: {
        address: attestor,
        onToken: await holds(addresses.token),
        onSettlement: await holds(addresses.settlement),
      },
      balances: [],
    };
    if (query.orderDigest) {
      const [deposited, spent, lastRevision, executionId] = await this.read<readonly [bigint, bigint, number, Hex]>(
        addresses.settlement,
        abi,
        'escrows',
        [query.orderDigest],
      );
      status.escrow = { deposited, spent, lastRevision, executionId };
    }
    for (const token of query.erc20 ? [addresses.token, query.erc20] : [addresses.token]) {
      for (const account of query.accounts ?? []) {
        status.balances.push({
          account,
          token,
          balance: await this.read<bigint>(token, erc20Abi, 'balanceOf', [account]),
        });
      }
    }
    return status;
  }

  private async deploy(admin: LocalAccount, name: 'VerityToken' | 'VeritySettlement'): Promise<Address> {
    const { abi, bytecode } = verityContract(name);
    return this.deployBytecode(admin, name, abi, bytecode, [admin.address]);
  }

  private async deployBytecode(
    sender: LocalAccount,
    name: string,
    abi: Abi,
    bytecode: Hex,
    args: readonly unknown[],
  ): Promise<Address> {
    const hash = await rpc(this.url, () => this.wallet(sender).deployContract({ abi, bytecode, args }));
    const receipt = await this.mined(hash);
    if (!receipt.contractAddress) throw new ChainError('rpc_failed', `deploying ${name} created no contract`);
    return getAddress(receipt.contractAddress);
  }

  async read<T>(address: Address, abi: Abi, functionName: string, args: readonly unknown[] = []): Promise<T> {
    return (await call(this.url, () => this.reader.readContract({ address, abi, functionName, args }))) as T;
  }

  /** Simulates, then sends and waits for the transaction; a revert at either point is a ChainError('reverted'). */
  private async write(
    account: LocalAccount,
    address: Address,
    abi: Abi,
    functionName: string,
    args: readonly unknown[],
  ): Promise<TransactionReceipt> {
    const { request } = await call(this.url, () =>
      this.reader.simulateContract({ account, address, abi, functionName, args }),
    );
    const hash = await call(this.url, () => this.wallet(account).writeContract(request));
    const receipt = await this.mined(hash);
    if (receipt.status !== 'success') {
      // Passed simulation but failed when mined (the state moved in between): the node keeps no reason.
      throw new ChainError('reverted', `${functionName} reverted in transaction ${hash}`, {
        context: { functionName, transactionHash: hash },
      });
    }
    return receipt;
  }

  private wallet(account: LocalAccount) {
    return createWalletClient({ account, chain: this.chain, transport: http(this.url, { retryCount: 0 }) });
  }

  private mined(hash: Hex): Promise<TransactionReceipt> {
    return rpc(this.url, () => this.reader.waitForTransactionReceipt({ hash }));
  }
}

export function settlementAbi(): Abi {
  return verityContract('VeritySettlement').abi;
}

export function tokenAbi(): Abi {
  return verityContract('VerityToken').abi;
}

/** A contract call: a revert becomes ChainError('reverted') with the custom error's name and arguments. */
async function call<T>(url: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const reverted =
      error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : undefined;
    if (reverted instanceof ContractFunctionRevertedError) {
      const errorName = reverted.data?.errorName ?? reverted.reason ?? 'unknown';
      const errorArgs = (reverted.data?.args ?? []).map(String);
      throw new ChainError('reverted', `the contract refused: ${errorName}(${errorArgs.join(', ')})`, {
        cause: error,
        context: { errorName, errorArgs },
      });
    }
    return rethrowRpc(url, error);
  }
}

/** A plain node request: any failure is the node's (unreachable, not JSON-RPC). */
async function rpc<T>(url: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    return rethrowRpc(url, error);
  }
}

function rethrowRpc(url: string, error: unknown): never {
  if (error instanceof ChainError) throw error;
  const detail =
    error instanceof BaseError ? error.shortMessage : error instanceof Error ? error.message : String(error);
  throw new ChainError('rpc_failed', `the node at ${url} failed: ${detail}`, { cause: error, context: { url } });
}
