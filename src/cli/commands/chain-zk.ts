import { join } from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { DEFAULT_ZK_CONFIG } from '../../attest/zk/circuit.js';
import { FIELD_MODULUS } from '../../attest/zk/fields.js';
import { ChainClient } from '../../chain/chain-client.js';
import { readArtifacts } from '../../zk/setup/artifacts.js';
import { releaseCurveWorkers } from '../../zk/setup/curve.js';
import { CliError } from '../errors.js';
import {
  dataDir,
  deployment,
  recordDeployment,
  rpcUrl,
  senderAccount,
  withChainOptions,
  withSender,
} from './chain-flags.js';
import type { SenderFlags } from './chain-flags.js';
import { zkConfigOf } from './zk.js';

/**
 * The zk side of `verity chain`: the Groth16 verifier of the data directory's circuit (the address a buyer pins
 * as an order's zkVerifier) and the registry roots the coordinator vouches for. Both are the operator's chain
 * key's business (the coordinator-role holder), never the attestor key's.
 */
export function registerChainZk(chain: Command): void {
  withSender(
    withChainOptions(
      chain
        .command('deploy-verifier')
        .description(
          "export the Groth16 verifier of the data directory's zk setup (as `verity zk export-solidity`), compile and deploy it",
        )
        .addOption(
          new Option('--batch-size <n>', 'the circuit of this batch size').default(String(DEFAULT_ZK_CONFIG.batchSize)),
        )
        .addOption(
          new Option('--registry-depth <n>', 'the circuit of this registry depth').default(
            String(DEFAULT_ZK_CONFIG.registryDepth),
          ),
        )
        .addOption(
          new Option('--zk-dir <dir>', 'where circuit artifacts live (default: <data dir>/zk)').env('VERITY_ZK_DIR'),
        ),
    ),
  ).action(async (flags: SenderFlags & { batchSize: string; registryDepth: string; zkDir?: string }) => {
    const config = zkConfigOf(flags);
    const sender = senderAccount(flags);
    const artifacts = await readArtifacts(flags.zkDir || join(dataDir(flags), 'zk'), config);
    const { exportSolidityVerifier } = await import('../../zk/solidity.js');
    let source: string;
    try {
      source = await exportSolidityVerifier(artifacts.paths.zkey);
    } finally {
      await releaseCurveWorkers();
    }
    const client = await ChainClient.connect(rpcUrl(flags));
    const zkVerifier = await client.deployVerifier(sender, source);
    const file = recordDeployment(flags, client.chainId, { zkVerifier, circuitId: artifacts.circuitId });
    if (flags.json) {
      process.stdout.write(JSON.stringify({ zkVerifier, circuitId: artifacts.circuitId }, null, 2) + '\n');
      return;
    }
    console.log(`Groth16Verifier   ${zkVerifier}`);
    console.error(
      `deployed the verifier of ${artifacts.circuitId} on chain ${client.chainId}; recorded in ${file} (buyers pin it with sign-order --zk-verifier)`,
    );
  });

  withSender(
    withChainOptions(
      chain
        .command('registry-root')
        .description(
          "accept a worker-registry root for zk settlements (sent by the chain key, which must hold the escrow's COORDINATOR_ROLE)",
        )
        .argument('<root>', 'the registry root, a field element in decimal or 0x hex'),
    ),
  ).action(async (root: string, flags: SenderFlags) => {
    const value = registryRoot(root);
    const sender = senderAccount(flags);
    const client = await ChainClient.connect(rpcUrl(flags));
    const { settlement } = deployment(flags, client.chainId);
    const transactionHash = await client.acceptRegistryRoot(sender, settlement, value);
    if (flags.json) process.stdout.write(JSON.stringify({ root: value.toString(), transactionHash }, null, 2) + '\n');
    else console.log(`accepted registry root ${value} (${transactionHash})`);
  });
}

/** A registry root as `verity zk info` and the zk statement show it: a BN254 field element. */
function registryRoot(text: string): bigint {
  const trimmed = text.trim();
  const value = /^\d+$/.test(trimmed) || /^0x[0-9a-fA-F]{1,64}$/.test(trimmed) ? BigInt(trimmed) : undefined;
  if (value === undefined || value >= FIELD_MODULUS)
    throw new CliError('usage', `ROOT must be a field element in decimal or 0x hex, not "${text}"`);
  return value;
}
