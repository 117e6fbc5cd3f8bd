import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getAddress, isAddress } from 'viem';
import type { Address } from 'viem';
import { z } from 'zod';
import { BindingError } from './binding-errors.js';

/**
 * What `verity chain deploy` records per chain in `<dataDir>/chain/<chainId>.json`: the contracts' addresses,
 * the attestor it appointed and the admin that deployed them. The coordinator trusts only records whose
 * attestor is its own data directory's attestor key, so a record copied from elsewhere binds nothing.
 * Fields it does not know (a later deploy may record more) are kept out of the parsed value, not refused.
 */

const address = z
  .string()
  .refine((value) => isAddress(value, { strict: false }), { error: 'must be an address: 0x and 40 hex digits' })
  .transform((value) => getAddress(value));

export const deploymentRecordSchema = z.object({
  chainId: z.int().min(1).max(Number.MAX_SAFE_INTEGER),
  token: address,
  settlement: address,
  attestor: address,
  admin: address,
  /** The JSON-RPC node the operator deployed through: where the server reads the escrow's payments. */
  rpc: z
    .string()
    .regex(/^https?:\/\/\S+$/, 'must be an http:// or https:// URL')
    .max(2048)
    .optional(),
  /** The ERC-20 tokens the escrow's orders may pay in, counted as micro-units (default: the deployment's token). */
  paymentTokens: z.array(address).min(1).max(16).optional(),
});

export interface DeploymentRecord {
  chainId: number;
  token: Address;
  settlement: Address;
  attestor: Address;
  admin: Address;
  rpc?: string | undefined;
  paymentTokens?: Address[] | undefined;
}

/** `<dataDir>/chain`: one record per chain id. */
export function deploymentDir(dataDir: string): string {
  return join(dataDir, 'chain');
}

export function deploymentRecordFile(dataDir: string, chainId: number): string {
  return join(deploymentDir(dataDir), `${chainId}.json`);
}

/**
 * The record of one chain, or undefined when none is recorded. A record that is not JSON, lacks a field, or
 * names another chain id than its file name is a BindingError('invalid_record') naming the file: silently
 * skipping it would make the deployment look unknown for a reason nobody could see.
 */
export function readDeploymentRecord(dataDir: string, chainId: number): DeploymentRecord | undefined {
  const file = deploymentRecordFile(dataDir, chainId);
  if (!existsSync(file)) return undefined;
  return parseDeploymentRecord(readText(file), file, chainId);
}

/** Parses a record's text; `chainId`, when given, is the one its file name says. */
export function parseDeploymentRecord(text: string, file: string, chainId?: number): DeploymentRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new BindingError(
      'invalid_record',
      `the deployment record ${file} is not JSON (${(error as Error).message}): deploy again, or fix it by hand`,
      { cause: error, context: { file } },
    );
  }
  const parsed = deploymentRecordSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new BindingError('invalid_record', `the deployment record ${file} is malformed: ${problems}`, {
      context: { file },
    });
  }
  if (chainId !== undefined && parsed.data.chainId !== chainId) {
    throw new BindingError(
      'invalid_record',
      `the deployment record ${file} says chainId ${parsed.data.chainId}, but its file name says ${chainId}`,
      { context: { file } },
    );
  }
  return parsed.data;
}

/**
 * Every record of the data directory, by chain id; files not named `<chainId>.json` are not records. A broken
 * record throws, unless `onInvalid` takes it (a server lists the others and logs it: one bad file must not
 * hide every deployment).
 */
export function listDeploymentRecords(dataDir: string, onInvalid?: (error: BindingError) => void): DeploymentRecord[] {
  const dir = deploymentDir(dataDir);
  if (!existsSync(dir)) return [];
  const chainIds = readdirSync(dir)
    .map((name) => /^([1-9][0-9]{0,15})\.json$/.exec(name))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => Number(match[1]))
    .filter((chainId) => Number.isSafeInteger(chainId))
    .sort((a, b) => a - b);
  const records: DeploymentRecord[] = [];
  for (const chainId of chainIds) {
    try {
      const record = readDeploymentRecord(dataDir, chainId);
      if (record) records.push(record);
    } catch (error) {
      if (!(error instanceof BindingError) || !onInvalid) throw error;
      onInvalid(error);
    }
  }
  return records;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new BindingError('invalid_record', `cannot read the deployment record ${file}: ${(error as Error).message}`, {
      cause: error,
      context: { file },
    });
  }
}
