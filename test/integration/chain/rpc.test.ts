import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublicClient, hashTypedData, http, keccak256, parseEventLogs, stringToBytes } from 'viem';
import type { Address, Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import type { PrivateKeyAccount } from 'viem/accounts';
import { ChainClient, settlementAbi } from '../../../src/chain/chain-client.js';
import { ChainError } from '../../../src/chain/errors.js';
import {
  addressBindingMessage,
  orderMessage,
  orderTypedData,
  settlementMessage,
  settlementTypedData,
  SETTLEMENT_DOMAIN_NAME,
  verityDomain,
} from '../../../src/chain/typed-data.js';
import type { OrderMessage } from '../../../src/chain/typed-data.js';
import { freePort, startAnvil } from '../../support/anvil.js';
import { deployTestToken as deployToken, tokenBalance } from '../../support/chain-rpc.js';
import type { LocalNode } from '../../support/anvil.js';
import { runCli } from '../../support/cli.js';
import type { CliResult } from '../../support/cli.js';
import { IN_TOTO_PAYLOAD_TYPE, signEnvelope } from '../../../src/attest/dsse.js';
import { settlementStatement } from '../../../src/attest/settlement/statement.js';
import type { SettlementPredicate } from '../../../src/attest/settlement/statement.js';
import { statementBytes } from '../../../src/attest/statement.js';
import { loadOrCreateSigner } from '../../../src/keys/local-signer.js';
import { ZK_BUNDLE_MEDIA_TYPE } from '../../../src/attest/bundle.js';
import { TEST_ZK_CONFIG, circuitId } from '../../../src/attest/zk/circuit.js';
import { zkStatement } from '../../../src/attest/zk/statement.js';
import { testProver } from '../../support/zk-proofs.js';
import type { ProvenExecution } from '../../support/zk-proofs.js';
import { TEST_ZK_DIR } from '../../support/zk-artifacts.js';

/**
 * Verity's contracts on a real local node (anvil, a child process on 127.0.0.1) through JSON-RPC: the CLI
 * deploys, reports and settles, and the client deposits, as a coordinator and a payer would on a real chain.
 */

/**
 * The built CLI (`npm test` builds first), which reads the contracts the build compiled. The tests name the
 * sender's key with --key-file: one in the developer's environment must not stand in (empty is unset).
 */
function verity(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runCli(args, { VERITY_CHAIN_KEY_FILE: '', ...env });
}

function key(label: string): Hex {
  return keccak256(stringToBytes(`verity rpc test ${label}`));
}

const keys = {
  deployer: key('deployer'),
  sender: key('sender'),
  payer: key('payer'),
};
const workerAccount = privateKeyToAccount(key('worker'));
const publisherAccount = privateKeyToAccount(key('publisher'));
const worker = workerAccount.address;
const publisher = publisherAccount.address;

let node: LocalNode;
let dir: string;
let dataDir: string;
let keyFiles: Record<keyof typeof keys, string>;
let payer: PrivateKeyAccount;
let client: ChainClient;

beforeAll(async () => {
  node = await startAnvil();
  dir = mkdtempSync(join(tmpdir(), 'verity-chain-rpc-'));
  dataDir = join(dir, 'data');
  keyFiles = {} as typeof keyFiles;
  for (const [name, value] of Object.entries(keys) as [keyof typeof keys, Hex][]) {
    keyFiles[name] = join(dir, `${name}.key`);
    writeFileSync(keyFiles[name], `${value}\n`, { mode: 0o600 });
    await node.fund(privateKeyToAccount(value).address, 10n ** 20n);
  }
  payer = privateKeyToAccount(keys.payer);
  client = await ChainClient.connect(node.url);
}, 60_000);

afterAll(async () => {
  await node?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const rpc = () => ['--rpc', node.url, '--data-dir', dataDir];

describe('verity chain over JSON-RPC (anvil)', () => {
  let deployed: { chainId: number; token: Address; settlement: Address; attestor: Address; admin: Address };
  let usd: Address;
  let order: OrderMessage;
  let orderDigest: Hex;
  let settleFile: string;

  it('deploy puts both contracts on chain, appoints a new attestor key and never prints a key', async () => {
    const run = await verity([
      'chain',
      'deploy',
      ...rpc(),
      '--key-file',
      keyFiles.deployer,
      '--reward-cap',
      '1000000',
      '--mint-budget',
      '5000000',
      '--json',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    deployed = JSON.parse(run.stdout) as typeof deployed;
    expect(deployed.chainId).toBe(1337);
    expect(deployed.admin).toBe(privateKeyToAccount(keys.deployer).address);
    const attestorKeyFile = join(dataDir, 'keys', 'attestor.key');
    expect(statSync(attestorKeyFile).mode & 0o777).toBe(0o600);
    const attestorKey = readFileSync(attestorKeyFile, 'utf8').trim() as Hex;
    expect(deployed.attestor).toBe(privateKeyToAccount(attestorKey).address);
    for (const secret of [attestorKey, keys.deployer]) expect(run.stdout).not.toContain(secret.slice(2));
    expect(JSON.parse(readFileSync(join(dataDir, 'chain', '1337.json'), 'utf8'))).toEqual(deployed);
  }, 60_000);

  it('status prints the recorded addresses and that the attestor holds ATTESTOR_ROLE on both', async () => {
    const json = await verity(['chain', 'status', ...rpc(), '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      chainId: 1337,
      addresses: { token: deployed.token, settlement: deployed.settlement },
      attestor: { address: deployed.attestor, onToken: true, onSettlement: true },
    });
    const text = await verity(['chain', 'status', ...rpc()]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(deployed.settlement);
    expect(text.stdout).toContain('ATTESTOR_ROLE   token: yes, settlement: yes');
    // Someone else's address does not hold it.
    const other = await verity(['chain', 'status', ...rpc(), '--attestor', worker, '--json']);
    expect(JSON.parse(other.stdout)).toMatchObject({ attestor: { onToken: false, onSettlement: false } });
  }, 60_000);

  it("the contract's hashOrder and hashSettlement over RPC equal viem's EIP-712 digests", async () => {
    usd = await deployTestToken();
    order = orderMessage({
      listingId: 'lst_rpc',
      workflowDigest: 'a'.repeat(64),
      payer: payer.address,
      token: usd,
      maxAmount: 1_000_000,
      deadline: Math.floor(Date.now() / 1000) + 3600,
      nonce: 1,
    });
    const domain = verityDomain(SETTLEMENT_DOMAIN_NAME, 1337, deployed.settlement);
    orderDigest = hashTypedData(orderTypedData(domain, order));
    expect(await client.hashOrder(deployed.settlement, order)).toBe(orderDigest);
    const message = settlementMessage({
      executionId: 'exe_rpc',
      revision: 1,
      receiptDigest: 'b'.repeat(64),
      order,
      orderDigest,
      payouts: [
        { payee: worker, amount: 600_000 },
        { payee: publisher, amount: 300_000 },
      ],
    });
    expect(await client.hashSettlement(deployed.settlement, message)).toBe(
      hashTypedData(settlementTypedData(domain, message)),
    );
  }, 60_000);

  it('the payer signs and funds its order through the CLI with its own key', async () => {
    const orderFile = join(dir, 'order.json');
    const orderJson = {
      listingId: 'lst_rpc',
      workflowDigest: 'a'.repeat(64),
      payer: payer.address,
      token: usd,
      maxAmount: '1000000',
      deadline: Number(order.deadline),
      nonce: 1,
    };
    writeFileSync(orderFile, JSON.stringify({ order: orderJson }));
    const signed = await verity([
      'chain',
      'sign-order',
      ...rpc(),
      '--file',
      orderFile,
      '--key-file',
      keyFiles.payer,
      '--json',
    ]);
    expect(signed.stderr).toBe('');
    expect(signed.code).toBe(0);
    const { orderDigest: digest, orderSignature } = JSON.parse(signed.stdout) as {
      orderDigest: Hex;
      orderSignature: Hex;
    };
    expect(digest).toBe(orderDigest);
    expect(orderSignature).toBe(await client.signOrder(payer, deployed.settlement, order));
    expect(signed.stdout).not.toContain(keys.payer.slice(2));
    const deposit = await verity([
      'chain',
      'deposit',
      ...rpc(),
      '--file',
      orderFile,
      '--amount',
      '1000000',
      '--key-file',
      keyFiles.payer,
    ]);
    expect(deposit.stderr).toBe('');
    expect(deposit.code).toBe(0);
    expect(deposit.stdout).toContain(`deposited 1000000 for order ${orderDigest}`);
    expect(await balance(usd, deployed.settlement)).toBe(1_000_000n);
    settleFile = join(dir, 'settle.json');
    writeFileSync(
      settleFile,
      JSON.stringify({
        order: orderJson,
        orderSignature,
        settlement: {
          executionId: 'exe_rpc',
          revision: 1,
          receiptDigest: 'b'.repeat(64),
          payouts: [
            { payee: worker, amount: 600_000 },
            { payee: publisher, amount: '300000' },
          ],
        },
      }),
    );
  }, 60_000);

  it("paying accounts nobody bound is refused (UnboundPayee); bind registers the holders' signed bindings once", async () => {
    const unbound = await verity(['chain', 'settle', ...rpc(), '--file', settleFile, '--key-file', keyFiles.sender]);
    expect(unbound.code).toBe(1);
    expect(unbound.stderr).toContain('UnboundPayee');
    // What GET /v1/admin/chain-bindings returns: each holder's AddressBinding signature in the escrow's domain.
    const bindingsFile = join(dir, 'bindings.json');
    const bindings = [];
    for (const [principal, account] of [
      ['worker:w1', workerAccount],
      ['acme', publisherAccount],
    ] as const) {
      const message = addressBindingMessage(principal, account.address);
      const signature = await client.signAddressBinding(account, deployed.settlement, message);
      bindings.push({ principal, address: account.address, signature });
    }
    writeFileSync(bindingsFile, JSON.stringify({ bindings }));
    // The chain key that deployed holds COORDINATOR_ROLE; another key is refused by the contract.
    const bySender = await verity(['chain', 'bind', ...rpc(), '--file', bindingsFile, '--key-file', keyFiles.sender]);
    expect(bySender.code).toBe(1);
    expect(bySender.stderr).toContain('AccessControlUnauthorizedAccount');
    const bind = () => verity(['chain', 'bind', ...rpc(), '--file', bindingsFile, '--key-file', keyFiles.deployer]);
    const first = await bind();
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`bound   ${worker} → worker:w1`);
    expect(first.stdout).toContain(`bound   ${publisher} → acme`);
    const again = await bind();
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`skipped ${worker} → worker:w1: already bound on chain`);
    expect(again.stdout).toContain(`skipped ${publisher} → acme: already bound on chain`);
    expect(await client.payeePrincipal(deployed.settlement, worker)).toBe(keccak256(stringToBytes('worker:w1')));
    writeFileSync(bindingsFile, JSON.stringify({ bindings: [{ ...bindings[0], address: 'nope' }] }));
    const bad = await bind();
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--file: bindings.0');
  }, 60_000);

  it('the CLI settles with the attestor key: the payees are paid and Settled is emitted', async () => {
    const run = await verity([
      'chain',
      'settle',
      ...rpc(),
      '--file',
      settleFile,
      '--key-file',
      keyFiles.sender,
      '--json',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as { transactionHash: Hex; settled: Record<string, string> };
    expect(result.settled).toMatchObject({ revision: '1', total: '900000', paidNow: '900000' });
    expect(await balance(usd, worker)).toBe(600_000n);
    expect(await balance(usd, publisher)).toBe(300_000n);
    expect(await balance(usd, deployed.settlement)).toBe(100_000n);
    // The event as the node's own receipt has it, not as the CLI decoded it.
    const reader = createPublicClient({ transport: http(node.url) });
    const receipt = await reader.getTransactionReceipt({ hash: result.transactionHash });
    const [settled] = parseEventLogs({ abi: settlementAbi(), logs: receipt.logs, eventName: 'Settled' });
    expect(settled?.args).toMatchObject({
      executionId: keccak256(stringToBytes('exe_rpc')),
      revision: 1n,
      receiptDigest: `0x${'b'.repeat(64)}`,
      payer: payer.address,
      total: 900_000n,
      paidNow: 900_000n,
    });
  }, 60_000);

  it('a replayed revision is refused with RevisionAlreadySettled (exit 1) and pays nothing', async () => {
    const run = await verity(['chain', 'settle', ...rpc(), '--file', settleFile, '--key-file', keyFiles.sender]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('RevisionAlreadySettled(1, 1)');
    expect(await balance(usd, worker)).toBe(600_000n);
  }, 60_000);

  it("status shows the order's escrow and the balances", async () => {
    const run = await verity([
      'chain',
      'status',
      ...rpc(),
      '--order-digest',
      orderDigest,
      '--account',
      worker,
      '--erc20',
      usd,
      '--json',
    ]);
    expect(run.code).toBe(0);
    const status = JSON.parse(run.stdout) as { escrow: unknown; balances: unknown[] };
    expect(status.escrow).toMatchObject({ deposited: '1000000', spent: '900000', lastRevision: 1 });
    expect(status.balances).toEqual([
      { account: worker, token: deployed.token, balance: '0' },
      { account: worker, token: usd, balance: '600000' },
    ]);
  }, 60_000);

  it("settles the next revision from the coordinator's signed settlement statement", async () => {
    const coordinator = loadOrCreateSigner(join(dataDir, 'keys', 'coordinator.key'));
    const predicate: SettlementPredicate = {
      executionId: 'exe_rpc',
      revision: 2,
      receiptDigest: 'e'.repeat(64),
      listingId: 'lst_rpc',
      buyer: 'alice',
      publisher: 'acme',
      verificationLevel: 'basic',
      outcome: 'completed',
      terms: {
        model: 'per_execution',
        executionPrice: 950_000,
        subscriptionPrice: 0,
        markupBps: 0,
        maxPrice: null,
        includedExecutions: 0,
        overQuota: 'charge',
        feeBps: 0,
      },
      buyerMaxPrice: null,
      includedRun: false,
      computeCost: 650_000,
      price: 950_000,
      fee: 0,
      total: [
        { account: 'alice', amount: -950_000, why: 'price' },
        { account: 'worker:w1', amount: 650_000, why: 'compute' },
        { account: 'acme', amount: 300_000, why: 'proceeds' },
      ],
      postings: [],
      settledAt: '2026-12-06T00:00:00.000Z',
    };
    const { settlement: _, ...rest } = JSON.parse(readFileSync(settleFile, 'utf8')) as Record<string, unknown>;
    const statementFile = join(dir, 'statement.json');
    writeFileSync(
      statementFile,
      JSON.stringify({
        ...rest,
        statement: signEnvelope(IN_TOTO_PAYLOAD_TYPE, statementBytes(settlementStatement(predicate)), coordinator),
        addresses: { 'worker:w1': worker, acme: publisher },
      }),
    );
    const run = await verity(['chain', 'settle', ...rpc(), '--file', statementFile, '--key-file', keyFiles.sender]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('settled revision 2: paid 50000 now, 950000 in all');
    expect(await balance(usd, worker)).toBe(650_000n);
    expect(await balance(usd, publisher)).toBe(300_000n);
  }, 60_000);

  it("mint pays a receipt's reward once; the second is refused with ReceiptAlreadyMinted", async () => {
    const args = [
      'chain',
      'mint',
      ...rpc(),
      '--receipt-digest',
      'c'.repeat(64),
      '--execution',
      'exe_rpc',
      '--payee',
      worker,
      '--amount',
      '250000',
    ];
    // The sender's key from the environment the first time, from the flag the second.
    const first = await verity(args, { VERITY_CHAIN_KEY_FILE: keyFiles.sender });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(await balance(deployed.token, worker)).toBe(250_000n);
    const again = await verity([...args, '--key-file', keyFiles.sender]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('ReceiptAlreadyMinted');
    expect(await balance(deployed.token, worker)).toBe(250_000n);
  }, 60_000);

  it('a settlement signed by a key without ATTESTOR_ROLE comes back as ChainError naming UnauthorizedAttestor', async () => {
    const message = settlementMessage({
      executionId: 'exe_rpc',
      revision: 2,
      receiptDigest: 'd'.repeat(64),
      order,
      orderDigest,
      payouts: [{ payee: worker, amount: 700_000 }],
    });
    const stranger = privateKeyToAccount(key('stranger'));
    const error = await client
      .settle(
        privateKeyToAccount(keys.sender),
        deployed.settlement,
        order,
        await client.signOrder(payer, deployed.settlement, order),
        message,
        await client.signSettlement(stranger, deployed.settlement, message),
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChainError);
    expect((error as ChainError).code).toBe('reverted');
    expect((error as ChainError).context).toMatchObject({
      errorName: 'UnauthorizedAttestor',
      errorArgs: [stranger.address],
    });
  }, 60_000);

  it("a zk order settles through the CLI with the run's zk bundle, under a verifier and root the chain key set up", async () => {
    const prover = await testProver();
    let proven: ProvenExecution;
    try {
      proven = await prover.prove('exe_rpc_zk', 1);
    } finally {
      await prover.close();
    }
    const zkFlags = ['--zk-dir', TEST_ZK_DIR, '--batch-size', '1', '--registry-depth', '2'];
    const deployedVerifier = await verity([
      'chain',
      'deploy-verifier',
      ...rpc(),
      ...zkFlags,
      '--key-file',
      keyFiles.sender,
      '--json',
    ]);
    expect(deployedVerifier.code).toBe(0);
    const { zkVerifier } = JSON.parse(deployedVerifier.stdout) as { zkVerifier: Address };
    expect(JSON.parse(readFileSync(join(dataDir, 'chain', '1337.json'), 'utf8'))).toMatchObject({
      ...deployed,
      zkVerifier,
    });
    const root = String(proven.registryRoot);
    const notCoordinator = await verity(['chain', 'registry-root', root, ...rpc(), '--key-file', keyFiles.sender]);
    expect(notCoordinator.code).toBe(1);
    expect(notCoordinator.stderr).toContain('AccessControlUnauthorizedAccount');
    const accepted = await verity(['chain', 'registry-root', root, ...rpc(), '--key-file', keyFiles.deployer]);
    expect(accepted.stderr).toBe('');
    expect(accepted.code).toBe(0);
    expect(await client.acceptedRegistryRoot(deployed.settlement, proven.registryRoot)).toBe(true);

    // The payer pins the verifier when it signs; the settle file's order names it too.
    const orderJson = {
      listingId: 'lst_rpc_zk',
      workflowDigest: proven.workflowDigest,
      payer: payer.address,
      token: usd,
      maxAmount: '500000',
      deadline: Number(order.deadline),
      nonce: 2,
    };
    const orderFile = join(dir, 'zk-order.json');
    writeFileSync(orderFile, JSON.stringify({ order: orderJson }));
    const signed = await verity([
      'chain',
      'sign-order',
      ...rpc(),
      '--file',
      orderFile,
      '--zk-verifier',
      zkVerifier,
      '--key-file',
      keyFiles.payer,
      '--json',
    ]);
    expect(signed.code).toBe(0);
    const { orderSignature } = JSON.parse(signed.stdout) as { orderSignature: Hex };
    const zkOrder = { ...orderJson, zkVerifier };
    writeFileSync(orderFile, JSON.stringify({ order: zkOrder }));
    const deposit = await verity([
      'chain',
      'deposit',
      ...rpc(),
      '--file',
      orderFile,
      '--amount',
      '500000',
      '--key-file',
      keyFiles.payer,
    ]);
    expect(deposit.code).toBe(0);

    const receiptDigest = '9'.repeat(64);
    const zkSettleFile = join(dir, 'zk-settle.json');
    writeFileSync(
      zkSettleFile,
      JSON.stringify({
        order: zkOrder,
        orderSignature,
        settlement: {
          executionId: 'exe_rpc_zk',
          revision: 1,
          receiptDigest,
          payouts: [{ payee: worker, amount: 400_000 }],
        },
      }),
    );
    /** A zk-only bundle's zk part (the statement signed by the data directory's coordinator key). */
    const coordinator = loadOrCreateSigner(join(dataDir, 'keys', 'coordinator.key'));
    const last = proven.proofs[proven.proofs.length - 1]!.publicSignals;
    const bundleOf = (executionId: string) => ({
      mediaType: ZK_BUNDLE_MEDIA_TYPE,
      zk: {
        statement: signEnvelope(
          IN_TOTO_PAYLOAD_TYPE,
          statementBytes(
            zkStatement({
              executionId,
              revision: 1,
              workflow: { id: 'wf', version: 1, digest: proven.workflowDigest },
              receiptDigest,
              resultDigest: proven.resultDigest,
              completedAt: '2026-12-07T00:00:00.000Z',
              steps: proven.proofs.map((_, i) => `step-${i}`),
              zk: {
                circuit: circuitId(TEST_ZK_CONFIG),
                verificationKeyDigest: '0'.repeat(64),
                batchSize: 1,
                registryDepth: 2,
                registryRoot: root,
                registrySize: 1,
                commitment: last[3]!,
                stepIdsCommitment: last[5]!,
              },
            }),
          ),
          coordinator,
        ),
        verificationKey: {},
        proofs: proven.proofs,
      },
    });
    const bundleFile = join(dir, 'zk-bundle.json');
    const settle = () =>
      verity([
        'chain',
        'settle',
        ...rpc(),
        '--file',
        zkSettleFile,
        '--zk-bundle',
        bundleFile,
        '--key-file',
        keyFiles.sender,
      ]);
    const withoutBundle = await verity([
      'chain',
      'settle',
      ...rpc(),
      '--file',
      zkSettleFile,
      '--key-file',
      keyFiles.sender,
    ]);
    expect(withoutBundle.code).toBe(2);
    expect(withoutBundle.stderr).toContain(`the order pins zk verifier ${zkVerifier}: pass --zk-bundle`);
    writeFileSync(bundleFile, JSON.stringify(bundleOf('exe_other')));
    const otherExecution = await settle();
    expect(otherExecution.code).toBe(2);
    expect(otherExecution.stderr).toContain('--zk-bundle: its proofs are of execution exe_other, not the settled one');
    writeFileSync(bundleFile, JSON.stringify(bundleOf('exe_rpc_zk')));
    const before = await balance(usd, worker);
    const run = await settle();
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('settled revision 1: paid 400000 now, 400000 in all');
    expect(await balance(usd, worker)).toBe(before + 400_000n);
  }, 600_000);

  it('usage errors exit 2 and name the flag', async () => {
    const noRpc = await verity(['chain', 'status', '--data-dir', dataDir]);
    expect(noRpc.code).toBe(2);
    expect(noRpc.stderr).toContain('--rpc');
    const noKey = await verity(['chain', 'deploy', ...rpc()], { VERITY_CHAIN_KEY_FILE: '' });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('--key-file');
    const badFile = join(dir, 'bad.json');
    writeFileSync(badFile, JSON.stringify({ order: {}, orderSignature: '0x', settlement: {} }));
    const bad = await verity(['chain', 'settle', ...rpc(), '--file', badFile, '--key-file', keyFiles.sender]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--file: order.listingId');
    const badAmount = await verity([
      'chain',
      'mint',
      ...rpc(),
      '--key-file',
      keyFiles.sender,
      '--receipt-digest',
      'c'.repeat(64),
      '--execution',
      'x',
      '--payee',
      worker,
      '--amount',
      '-1',
    ]);
    expect(badAmount.code).toBe(2);
    expect(badAmount.stderr).toContain('--amount');
  }, 60_000);

  it('a deployment record that is not JSON is a failure naming the file, and the flags still stand in for it', async () => {
    const broken = mkdtempSync(join(tmpdir(), 'verity-chain-broken-'));
    try {
      mkdirSync(join(broken, 'chain'));
      writeFileSync(join(broken, 'chain', '1337.json'), '{');
      const args = ['chain', 'status', '--rpc', node.url, '--data-dir', broken, '--attestor', worker];
      const run = await verity(args);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`the deployment record ${join(broken, 'chain', '1337.json')} is not JSON`);
      const given = await verity([...args, '--token', deployed.token, '--settlement', deployed.settlement]);
      expect(given.stderr).toBe('');
      expect(given.code).toBe(0);
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  }, 60_000);

  // Last: it moves the chain's clock past the order's deadline, after which nothing settles against it.
  it('reclaim returns the unspent rest to the payer only after the deadline, and once', async () => {
    const orderFile = join(dir, 'order.json');
    const reclaim = () => verity(['chain', 'reclaim', ...rpc(), '--file', orderFile, '--key-file', keyFiles.sender]);
    const early = await reclaim();
    expect(early.code).toBe(1);
    expect(early.stderr).toContain('OrderNotExpired');
    const before = await balance(usd, payer.address);
    await node.advanceTime(3_700);
    const late = await reclaim();
    expect(late.stderr).toBe('');
    expect(late.code).toBe(0);
    // 1,000,000 deposited, 950,000 paid out by revisions 1 and 2.
    expect(late.stdout).toContain(`reclaimed 50000 of order ${orderDigest} for ${payer.address}`);
    expect(await balance(usd, payer.address)).toBe(before + 50_000n);
    // What stays is the zk order's unspent 100,000 (500,000 deposited, 400,000 settled), not reclaimed here.
    expect(await balance(usd, deployed.settlement)).toBe(100_000n);
    const again = await reclaim();
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('NothingToReclaim');
  }, 60_000);
});

describe('verity chain without a node', () => {
  it('a node that does not answer is a failure (exit 1) naming the URL, not a usage error', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const run = await verity(['chain', 'status', '--rpc', url, '--data-dir', dataDir, '--attestor', worker]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`the node at ${url} failed`);
  }, 60_000);

  it('addresses that hold no contract are refused as not deployed', async () => {
    const run = await verity([
      'chain',
      'status',
      '--rpc',
      node.url,
      '--data-dir',
      dataDir,
      '--attestor',
      worker,
      '--token',
      worker,
      '--settlement',
      publisher,
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`no contract at ${worker} on chain 1337`);
  }, 60_000);
});

/** The escrow's money: a 6-decimal test token the payer holds. */
function deployTestToken(): Promise<Address> {
  return deployToken(node, client, keys.deployer, [[payer.address, 5_000_000n]]);
}

function balance(token: Address, who: Address): Promise<bigint> {
  return tokenBalance(client, token, who);
}
