import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { zeroAddress } from 'viem';
import type { Address, Hex } from 'viem';
import { loadOrCreateAttestorKey } from '../../chain/attestor-key.js';
import { ChainClient } from '../../chain/chain-client.js';
import type { ChainStatus, ZkSettlementProofs } from '../../chain/chain-client.js';
import { receiptMintMessage } from '../../chain/typed-data.js';
import type { OrderMessage, SettlementMessage } from '../../chain/typed-data.js';
import { publicKeyFile } from '../../keys/local-signer.js';
import { resolveNodeOptions } from '../../node/verity-node.js';
import { CliError } from '../errors.js';
import { readText } from '../inputs.js';
import {
  address,
  attestorKeyFile,
  bigintsAsStrings,
  bytes32,
  dataDir,
  deployment,
  deploymentFile,
  readInput,
  rpcUrl,
  senderAccount,
  units,
  withChainOptions,
  withSender,
} from './chain-flags.js';
import type { ChainFlags, SenderFlags } from './chain-flags.js';
import { parseSettleFile, parseZkBundleFile, usage, withZkProofs } from './chain-input.js';
import { registerChainBind } from './chain-bind.js';
import { documentSettleInput } from './chain-document.js';
import { registerChainPayer } from './chain-payer.js';
import { registerChainRecordPayment } from './chain-record-payment.js';
import { registerChainRegister } from './chain-register.js';
import { registerChainZk } from './chain-zk.js';

/**
 * `verity chain`: Verity's contracts on an EVM chain over JSON-RPC. The coordinator's attestor key (secp256k1)
 * lives in the data directory; whoever pays for a transaction's gas signs it with a key file of its own
 * (`--key-file` or VERITY_CHAIN_KEY_FILE), which is never printed. A deploy records the contracts' addresses per
 * chain id in the data directory, so the other commands find them from `--rpc` alone.
 */
export function registerChain(program: Command): void {
  const chain = program
    .command('chain')
    .description("settle marketplace runs on an EVM chain: Verity's escrow and token contracts over JSON-RPC");

  withSender(
    withChainOptions(
      chain
        .command('deploy')
        .description("deploy VerityToken and VeritySettlement, appoint this data directory's attestor key on both")
        .option(
          '--reward-cap <units>',
          "the token's reward cap per receipt, in micro-units (minting stays off without it)",
        )
        .option('--mint-budget <units>', "the token's total mint budget, in micro-units (with --reward-cap)")
        .option(
          '--payment-token <address...>',
          "the ERC-20 tokens (6 decimals) the escrow's orders may pay in, counted as micro-units (default: VerityToken)",
        ),
    ),
  ).action(async (flags: SenderFlags & { rewardCap?: string; mintBudget?: string; paymentToken?: string[] }) => {
    const paymentTokens = flags.paymentToken?.map((t) => address(t, '--payment-token'));
    if ((flags.rewardCap === undefined) !== (flags.mintBudget === undefined))
      throw new CliError('usage', '--reward-cap and --mint-budget go together');
    const rewardPolicy =
      flags.rewardCap !== undefined && flags.mintBudget !== undefined
        ? { maxPerReceipt: units(flags.rewardCap, '--reward-cap'), budget: units(flags.mintBudget, '--mint-budget') }
        : undefined;
    const deployer = senderAccount(flags);
    const attestor = loadOrCreateAttestorKey(attestorKeyFile(flags));
    const client = await ChainClient.connect(rpcUrl(flags));
    const addresses = await client.deployContracts(deployer, attestor.address, {
      ...(rewardPolicy && { rewardPolicy }),
    });
    // The RPC node is recorded so that the server can read the escrow's payments (POST …/chain-payments).
    const record = {
      chainId: client.chainId,
      ...addresses,
      attestor: attestor.address,
      admin: deployer.address,
      rpc: flags.rpc,
      paymentTokens: paymentTokens ?? [addresses.token],
    };
    const file = deploymentFile(flags, client.chainId);
    mkdirSync(join(dataDir(flags), 'chain'), { recursive: true, mode: 0o700 });
    writeFileSync(file, JSON.stringify(record, null, 2) + '\n');
    if (flags.json) {
      process.stdout.write(JSON.stringify(record, null, 2) + '\n');
      return;
    }
    console.log(`VerityToken       ${addresses.token}`);
    console.log(`VeritySettlement  ${addresses.settlement}`);
    console.log(`attestor          ${attestor.address}`);
    console.error(`deployed on chain ${client.chainId} by ${deployer.address}; recorded in ${file}`);
  });

  withChainOptions(
    chain
      .command('status')
      .description("the deployment on this chain: addresses, the attestor's roles, an order's escrow, balances")
      .option('--attestor <address>', "whose ATTESTOR_ROLE to check (default: this data directory's attestor key)")
      .option('--order-digest <hex>', "an order's EIP-712 digest: show its escrow")
      .option('--account <address...>', "show these accounts' VerityToken balances (and --erc20's)")
      .option('--erc20 <address>', "another token to show the accounts' balances in (the escrow's token)"),
  ).action(
    async (flags: ChainFlags & { attestor?: string; orderDigest?: string; account?: string[]; erc20?: string }) => {
      const attestor = flags.attestor !== undefined ? address(flags.attestor, '--attestor') : existingAttestor(flags);
      const orderDigest = flags.orderDigest === undefined ? undefined : bytes32(flags.orderDigest, '--order-digest');
      const accounts = (flags.account ?? []).map((a) => address(a, '--account'));
      const erc20 = flags.erc20 === undefined ? undefined : address(flags.erc20, '--erc20');
      const client = await ChainClient.connect(rpcUrl(flags));
      const status = await client.status(deployment(flags, client.chainId), attestor, {
        ...(orderDigest && { orderDigest }),
        accounts,
        ...(erc20 && { erc20 }),
      });
      if (flags.json) process.stdout.write(JSON.stringify(status, bigintsAsStrings, 2) + '\n');
      else printStatus(status);
    },
  );

  withSender(
    withChainOptions(
      chain
        .command('settle')
        .description(
          "submit a settlement: the server's signed document (--document), or one the attestor key signs here (--file)",
        )
        .option(
          '--document <file>',
          'a chain settlement document (POST /v1/executions/{id}/chain-settlement): verified, then submitted as signed',
        )
        .option(
          '--trust <key.pem>',
          "with --document: the coordinator public key to verify it with (default: this data directory's)",
        )
        .option('--file <file>', 'JSON: { order, orderSignature, settlement | statement + addresses } (docs/chain.md)')
        .option(
          '--zk-bundle <file>',
          "with --file, for an order that pins a zkVerifier: the execution's zk-only bundle (verity receipt --zk-only) or full bundle with its zk part",
        ),
    ),
  ).action(async (flags: SenderFlags & { file?: string; document?: string; trust?: string; zkBundle?: string }) => {
    if ((flags.file === undefined) === (flags.document === undefined))
      throw new CliError('usage', 'give either --document (signed by the server) or --file, not both or neither');
    const sender = senderAccount(flags);
    const client = await ChainClient.connect(rpcUrl(flags));
    const { settlement } = deployment(flags, client.chainId);
    const signed =
      flags.document !== undefined
        ? await fromDocument(flags, flags.document, client.chainId, settlement)
        : await signedHere(flags, flags.file!, client, settlement);
    const result = await client.settle(
      sender,
      settlement,
      signed.order,
      signed.orderSignature,
      signed.settlement,
      signed.attestorSignature,
      signed.proofs,
    );
    if (flags.json) {
      process.stdout.write(JSON.stringify(result, bigintsAsStrings, 2) + '\n');
      return;
    }
    const s = result.settled;
    console.log(`settled revision ${s.revision}: paid ${s.paidNow} now, ${s.total} in all (${result.transactionHash})`);
  });

  withSender(
    withChainOptions(
      chain
        .command('mint')
        .description("sign a receipt's reward with the attestor key and mint it to the payee")
        .requiredOption('--receipt-digest <sha256>', "the receipt's transparency-log leaf, 64 hex")
        .requiredOption('--execution <id>', 'the execution the receipt is of')
        .requiredOption('--payee <address>', 'who receives the reward')
        .requiredOption('--amount <units>', 'the reward, in micro-units')
        .option('--valid-for <seconds>', 'how long the signed mint may be submitted', '3600'),
    ),
  ).action(
    async (
      flags: SenderFlags & {
        receiptDigest: string;
        execution: string;
        payee: string;
        amount: string;
        validFor: string;
      },
    ) => {
      const validFor = units(flags.validFor, '--valid-for');
      const message = usage('--receipt-digest, --execution', () =>
        receiptMintMessage({
          receiptDigest: flags.receiptDigest,
          executionId: flags.execution,
          payee: address(flags.payee, '--payee'),
          amount: units(flags.amount, '--amount'),
          deadline: BigInt(Math.floor(Date.now() / 1000)) + validFor,
        }),
      );
      const sender = senderAccount(flags);
      const attestor = loadOrCreateAttestorKey(attestorKeyFile(flags));
      const client = await ChainClient.connect(rpcUrl(flags));
      const { token } = deployment(flags, client.chainId);
      const signature = await client.signReceiptMint(attestor, token, message);
      const transactionHash = await client.mint(sender, token, message, signature);
      if (flags.json) process.stdout.write(JSON.stringify({ transactionHash, ...message }, bigintsAsStrings, 2) + '\n');
      else console.log(`minted ${message.amount} to ${message.payee} (${transactionHash})`);
    },
  );

  registerChainPayer(chain);
  registerChainRegister(chain);
  registerChainRecordPayment(chain);
  registerChainZk(chain);
  registerChainBind(chain);
}

/** The PEM beside the coordinator's key (VERITY_COORDINATOR_KEY_FILE, else in the data directory). */
function coordinatorPublicKey(flags: ChainFlags, flag: string): string {
  const options = resolveNodeOptions({ ...(flags.dataDir !== undefined && { dataDir: flags.dataDir }), executors: [] });
  const file = publicKeyFile(options.coordinatorKeyFile);
  if (!existsSync(file))
    throw new CliError('usage', `${flag}: a statement needs the coordinator's public key, and ${file} does not exist`);
  return readFileSync(file, 'utf8');
}

/** A status only reads: it does not create an attestor key where there is none. */
function existingAttestor(flags: ChainFlags): Address {
  const file = attestorKeyFile(flags);
  if (!existsSync(file))
    throw new CliError('usage', `no attestor key at ${file}: pass --attestor or run verity chain deploy first`);
  return loadOrCreateAttestorKey(file).address;
}

function printStatus(status: ChainStatus): void {
  const role = (held: boolean) => (held ? 'yes' : 'NO');
  console.log(`chain id          ${status.chainId}`);
  console.log(`VerityToken       ${status.addresses.token}`);
  console.log(`VeritySettlement  ${status.addresses.settlement}`);
  console.log(`attestor          ${status.attestor.address}`);
  console.log(
    `  ATTESTOR_ROLE   token: ${role(status.attestor.onToken)}, settlement: ${role(status.attestor.onSettlement)}`,
  );
  if (status.escrow) {
    const e = status.escrow;
    console.log(`escrow            deposited ${e.deposited}, spent ${e.spent}, last revision ${e.lastRevision}`);
  }
  for (const b of status.balances) console.log(`balance           ${b.account} ${b.balance} of ${b.token}`);
}

interface SignedSettlement {
  order: OrderMessage;
  orderSignature: Hex;
  settlement: SettlementMessage;
  attestorSignature: Hex;
  proofs?: ZkSettlementProofs | undefined;
}

/** `settle --document`: checked offline with the coordinator key before anything is sent. */
async function fromDocument(
  flags: ChainFlags & { trust?: string },
  file: string,
  chainId: number,
  settlement: Address,
): Promise<SignedSettlement> {
  const trusted =
    flags.trust !== undefined ? readText(flags.trust, '--trust') : coordinatorPublicKey(flags, '--document');
  const input = await documentSettleInput(readInput(file, '--document'), [trusted], { chainId, settlement });
  if (input.order.zkVerifier === zeroAddress) return input;
  if (!input.zk) {
    throw new CliError(
      'usage',
      `--document: the order pins zk verifier ${input.order.zkVerifier}, and the document carries no zk bundle`,
    );
  }
  const zk = withZkProofs(input, await parseZkBundleFile(input.zk, () => trusted));
  return { ...input, proofs: zk.proofs };
}

/** `settle --file`: the attestor key in this data directory signs. */
async function signedHere(
  flags: SenderFlags & { zkBundle?: string },
  file: string,
  client: ChainClient,
  settlement: Address,
): Promise<SignedSettlement> {
  const attestor = loadOrCreateAttestorKey(attestorKeyFile(flags));
  const input = await parseSettleFile(
    readInput(file, '--file'),
    (order) => client.orderDigest(settlement, order),
    () => coordinatorPublicKey(flags, '--file'),
  );
  const zk =
    flags.zkBundle === undefined
      ? undefined
      : withZkProofs(
          input,
          await parseZkBundleFile(readInput(flags.zkBundle, '--zk-bundle'), () =>
            coordinatorPublicKey(flags, '--zk-bundle'),
          ),
        );
  if (!zk && input.order.zkVerifier !== zeroAddress)
    throw new CliError('usage', `the order pins zk verifier ${input.order.zkVerifier}: pass --zk-bundle`);
  const message = zk?.settlement ?? input.settlement;
  return {
    order: input.order,
    orderSignature: input.orderSignature,
    settlement: message,
    attestorSignature: await client.signSettlement(attestor, settlement, message),
    proofs: zk?.proofs,
  };
}
