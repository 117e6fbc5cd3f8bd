import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { getAddress } from 'viem';
import type { Address } from 'viem';
import { fromHex } from '../attest/bytes.js';
import { sha256Hex } from '../attest/digest.js';
import { IN_TOTO_PAYLOAD_TYPE, signEnvelope } from '../attest/dsse.js';
import type { Signer } from '../attest/keys.js';
import { statementBytes } from '../attest/statement.js';
import type { ChainAddressBindingRecord, ChainAttestorBindingRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { TransparencyLog } from '../tlog/log.js';
import { addressBindingSigner, addressBindingStatement } from './address-binding-statement.js';
import { ATTESTOR_KEY_FILE, loadPrivateKeyAccount } from './attestor-key.js';
import { attestorBindingStatement } from './attestor-binding-statement.js';
import { BindingError } from './binding-errors.js';
import { listDeploymentRecords, readDeploymentRecord } from './deployment-record.js';
import type { DeploymentRecord } from './deployment-record.js';

/**
 * The server side of binding keys and names (docs/chain.md): which deployments this coordinator speaks for,
 * the attestor-binding statement of each (signed, logged and recorded once per deployment, whichever replica
 * gets there first), and the addresses principals bind to their ledger accounts.
 */
export interface BindingContext {
  store: Store;
  log: TransparencyLog;
  /** The coordinator's Ed25519 key: it signs the binding statements, as it signs receipts. */
  signer: Signer;
  dataDir: string;
}

/** Thrown inside a transaction that lost a race on a unique key, to roll back its log entry. */
class LostRace extends Error {}

/** The address of the data directory's attestor key, or undefined while `verity chain deploy` made none. */
export function dataDirAttestor(dataDir: string): Address | undefined {
  const file = join(dataDir, 'keys', ATTESTOR_KEY_FILE);
  return existsSync(file) ? loadPrivateKeyAccount(file).address : undefined;
}

/**
 * The deployments this server speaks for: records in its data directory whose attestor is its own attestor
 * key. A record naming another attestor (copied from another coordinator) is not one: this coordinator
 * could not sign its settlements.
 */
export function knownDeployments(dataDir: string, onInvalid?: (error: BindingError) => void): DeploymentRecord[] {
  const attestor = dataDirAttestor(dataDir);
  if (attestor === undefined) return [];
  return listDeploymentRecords(dataDir, onInvalid).filter((record) => record.attestor === attestor);
}

/** One known deployment, or BindingError('unknown_chain') naming the chain id. */
export function knownDeployment(dataDir: string, chainId: number): DeploymentRecord {
  const record = readDeploymentRecord(dataDir, chainId);
  const attestor = record && dataDirAttestor(dataDir);
  if (!record || record.attestor !== attestor) {
    throw new BindingError(
      'unknown_chain',
      `this server knows no deployment on chain ${chainId}: see GET /v1/chain/deployments for the ones it knows`,
      { context: { chainId } },
    );
  }
  return record;
}

/**
 * The attestor-binding statement of a deployment, made if it was not: signed, appended to the log and
 * recorded in one transaction, once per (chain, attestor, token, escrow). Replicas racing for it: the
 * log's head serializes their appends, the primary key lets one row in, and the loser rolls back (its log
 * entry with it) and returns the winner's.
 */
export async function ensureAttestorBinding(
  context: BindingContext,
  deployment: DeploymentRecord,
  now = Date.now(),
): Promise<ChainAttestorBindingRecord> {
  const { store, log, signer } = context;
  const key = {
    chainId: deployment.chainId,
    attestor: deployment.attestor,
    token: deployment.token,
    settlement: deployment.settlement,
  };
  const existing = await store.read.getChainAttestorBinding(key);
  if (existing) return existing;
  try {
    return await store.transaction(async (tx) => {
      const seen = await tx.getChainAttestorBinding(key);
      if (seen) return seen;
      const payload = statementBytes(attestorBindingStatement({ ...key, boundAt: new Date(now).toISOString() }));
      const payloadDigest = sha256Hex(payload);
      const logIndex = await log.append(tx, fromHex(payloadDigest));
      const record: ChainAttestorBindingRecord = {
        ...key,
        envelope: signEnvelope(IN_TOTO_PAYLOAD_TYPE, payload, signer),
        payloadDigest,
        logIndex,
        createdAt: now,
      };
      if (!(await tx.insertChainAttestorBinding(record))) throw new LostRace();
      tx.appendEvents([{ at: now, type: 'chain.attestor_bound', actor: 'coordinator', data: { ...key, logIndex } }]);
      return record;
    });
  } catch (error) {
    if (!(error instanceof LostRace)) throw error;
    const winner = await store.read.getChainAttestorBinding(key);
    if (!winner) throw new BindingError('contended', `the attestor binding of chain ${key.chainId} was lost in a race`);
    return winner;
  }
}

/** The attestor bindings of every known deployment (at server start, and for the deployments route). */
export async function ensureAttestorBindings(
  context: BindingContext,
  onInvalid?: (error: BindingError) => void,
): Promise<{ deployment: DeploymentRecord; binding: ChainAttestorBindingRecord }[]> {
  const out = [];
  for (const deployment of knownDeployments(context.dataDir, onInvalid)) {
    out.push({ deployment, binding: await ensureAttestorBinding(context, deployment) });
  }
  return out;
}

export interface AddressBindingRequest {
  chainId: number;
  /** The ledger account to bind: the caller's principal name, or `sys:platform` for an admin. */
  account: string;
  address: string;
  signature: string;
  /** Who asked (`client:<principal>`), for the event. */
  actor: string;
}

/** How many times a binding is retried after losing to a concurrent rebind of the same account. */
const BIND_ATTEMPTS = 3;

/**
 * Binds `address` to a ledger account on a known chain, after checking that the address's key signed the
 * binding in the escrow's domain. A new address replaces the current one (each is in the log); the same
 * address again returns the current binding and logs nothing.
 */
export async function bindAddress(
  context: BindingContext,
  request: AddressBindingRequest,
  now = Date.now(),
): Promise<{ record: ChainAddressBindingRecord; created: boolean }> {
  const deployment = knownDeployment(context.dataDir, request.chainId);
  await ensureAttestorBinding(context, deployment, now);
  const address = getAddress(request.address);
  const signature = request.signature.toLowerCase();
  const { chainId, account } = request;
  const { settlement } = deployment;
  const signer = await addressBindingSigner(chainId, settlement, account, address, signature);
  if (signer !== address) {
    throw new BindingError(
      'bad_signature',
      `the signature recovers to ${signer ?? 'no address'}, not to ${address}: sign, with the key of ${address}, the EIP-712 message AddressBinding(principal = keccak256("${account}"), account = ${address}) in the domain VeritySettlement version 1, chain ${chainId}, verifyingContract ${settlement} (\`verity chain register-address\` does)`,
      { context: { field: 'signature', chainId, address } },
    );
  }
  for (let attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
    try {
      return await context.store.transaction(async (tx) => {
        const current = await tx.chainAddressOf(chainId, account);
        if (current && current.address === address && current.settlement === settlement) {
          return { record: current, created: false };
        }
        const predicate = { principal: account, chainId, settlement, address, signature, boundAt: iso(now) };
        const payload = statementBytes(addressBindingStatement(predicate));
        const payloadDigest = sha256Hex(payload);
        const logIndex = await context.log.append(tx, fromHex(payloadDigest));
        const record: ChainAddressBindingRecord = {
          chainId,
          account,
          address,
          settlement,
          signature,
          envelope: signEnvelope(IN_TOTO_PAYLOAD_TYPE, payload, context.signer),
          payloadDigest,
          logIndex,
          createdAt: now,
        };
        if (!(await tx.replaceChainAddressBinding(record, current?.logIndex))) throw new LostRace();
        tx.appendEvents([
          {
            at: now,
            type: 'chain.address_bound',
            actor: request.actor,
            data: { chainId, account, address, logIndex, ...(current && { replaced: current.address }) },
          },
        ]);
        return { record, created: true };
      });
    } catch (error) {
      if (!(error instanceof LostRace)) throw error;
    }
  }
  throw new BindingError('contended', `the binding of ${account} on chain ${chainId} kept changing: retry`, {
    context: { chainId },
  });
}

const iso = (ms: number): string => new Date(ms).toISOString();
