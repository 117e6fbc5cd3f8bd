import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import { getAddress, isAddress, isHex } from 'viem';
import type { Address, Hex } from 'viem';
import { ATTESTOR_KEY_FILE, loadPrivateKeyAccount } from '../../chain/attestor-key.js';
import type { ChainAddresses } from '../../chain/chain-client.js';
import { resolveNodeOptions } from '../../node/verity-node.js';
import { CliError } from '../errors.js';
import { parseUnits, usage } from './chain-input.js';

/** The flags and checks every `verity chain` command shares. */

export interface ChainFlags {
  rpc: string;
  dataDir?: string;
  json?: boolean;
  token?: string;
  settlement?: string;
}

export interface SenderFlags extends ChainFlags {
  keyFile?: string;
}

export function withChainOptions(command: Command): Command {
  return command
    .requiredOption('--rpc <url>', "the chain's JSON-RPC endpoint (http:// or https://)")
    .addOption(new Option('--data-dir <dir>', 'where local state lives').env('VERITY_DATA_DIR').default('.verity'))
    .option('--token <address>', 'VerityToken (default: what `verity chain deploy` recorded for this chain)')
    .option('--settlement <address>', 'VeritySettlement (default: what `verity chain deploy` recorded for this chain)')
    .option('--json', 'print JSON');
}

export function withSender(command: Command): Command {
  return command.addOption(
    new Option('--key-file <file>', 'the account that sends the transactions: 0x and 64 hex, mode 0600').env(
      'VERITY_CHAIN_KEY_FILE',
    ),
  );
}

export function rpcUrl(flags: ChainFlags): string {
  if (!/^https?:\/\/\S+$/.test(flags.rpc)) throw new CliError('usage', `--rpc must be an http:// or https:// URL`);
  return flags.rpc;
}

export function dataDir(flags: ChainFlags): string {
  return resolveNodeOptions({ ...(flags.dataDir !== undefined && { dataDir: flags.dataDir }), executors: [] }).dataDir;
}

export function attestorKeyFile(flags: ChainFlags): string {
  return join(dataDir(flags), 'keys', ATTESTOR_KEY_FILE);
}

export function deploymentFile(flags: ChainFlags, chainId: number): string {
  return join(dataDir(flags), 'chain', `${chainId}.json`);
}

export function senderAccount(flags: SenderFlags) {
  // An empty VERITY_CHAIN_KEY_FILE is unset, as for every VERITY_* variable.
  if (!flags.keyFile)
    throw new CliError('usage', '--key-file (or VERITY_CHAIN_KEY_FILE) must name the key of the account that sends');
  return loadPrivateKeyAccount(flags.keyFile);
}

/** Adds `fields` to this chain's deployment record (the zk verifier beside the contracts), creating it if missing. */
export function recordDeployment(flags: ChainFlags, chainId: number, fields: Record<string, unknown>): string {
  const file = deploymentFile(flags, chainId);
  let record: Record<string, unknown> = {};
  if (existsSync(file)) {
    try {
      record = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (error) {
      throw new CliError('failed', `the deployment record ${file} is not JSON (${(error as Error).message})`);
    }
  }
  mkdirSync(join(dataDir(flags), 'chain'), { recursive: true, mode: 0o700 });
  writeFileSync(file, JSON.stringify({ chainId, ...record, ...fields }, null, 2) + '\n');
  return file;
}

/** The addresses from the flags, else from this chain's deployment record. */
export function deployment(flags: ChainFlags, chainId: number): ChainAddresses {
  let recorded: Partial<ChainAddresses> = {};
  const file = deploymentFile(flags, chainId);
  // Both given: the record is not needed (nor read, so a broken one does not stand in the way).
  if ((flags.token === undefined || flags.settlement === undefined) && existsSync(file)) {
    try {
      recorded = JSON.parse(readFileSync(file, 'utf8')) as Partial<ChainAddresses>;
    } catch (error) {
      throw new CliError(
        'failed',
        `the deployment record ${file} is not JSON (${(error as Error).message}): pass --token and --settlement, or deploy again`,
      );
    }
  }
  const token = flags.token ?? recorded.token;
  const settlement = flags.settlement ?? recorded.settlement;
  if (token === undefined || settlement === undefined)
    throw new CliError(
      'usage',
      `nothing deployed on chain ${chainId} is recorded in ${file}: pass --token and --settlement`,
    );
  return { token: address(token, '--token'), settlement: address(settlement, '--settlement') };
}

export function address(value: string, flag: string): Address {
  if (!isAddress(value, { strict: false })) throw new CliError('usage', `${flag} must be an address, not "${value}"`);
  return getAddress(value);
}

export function bytes32(value: string, flag: string): Hex {
  if (!isHex(value) || value.length !== 66) throw new CliError('usage', `${flag} must be 0x and 64 hex digits`);
  return value;
}

export function units(value: string, flag: string): bigint {
  return usage(flag, () => parseUnits(value));
}

export function readInput(file: string, flag: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CliError('usage', `${flag}: cannot read JSON from ${file}: ${(error as Error).message}`);
  }
}

export function bigintsAsStrings(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
