import { v7 as uuidv7 } from 'uuid';
import type {
  LedgerBucket,
  LedgerKind,
  LedgerPosting,
  LedgerReference,
  LedgerTransactionRecord,
} from '../store/records.js';
import { LEDGER_BUCKETS, LEDGER_KINDS } from '../store/records.js';
import type { LedgerAmounts, StoreTx } from '../store/store.js';
import { EXTERNAL_ACCOUNT, isLedgerAccount, onlyExternalMayBeNegative } from './accounts.js';
import type { AllowNegative } from './accounts.js';
import { LedgerError } from './errors.js';

/**
 * The ledger's one write: a double-entry transaction, posted inside the caller's store transaction so that
 * money moves with the state that justifies it (a hold with the execution it pays for), or not at all.
 */

/** A transaction to post. Amounts are integer micro-units: positive into an account's bucket, negative out. */
export interface NewLedgerTransaction extends LedgerReference {
  /** Names the transaction forever: posting it again with the same content is a replay that changes nothing. */
  idempotencyKey: string;
  kind: LedgerKind;
  postings: readonly LedgerPosting[];
}

export interface PostOptions {
  /** Whose available balance may go below zero. Default: only `sys:external`. */
  allowNegative?: AllowNegative;
  /** The transaction's time (ms). Default: now. */
  now?: number;
}

export interface Posted {
  transaction: LedgerTransactionRecord;
  /** The idempotency key had been posted already, with this content: nothing was written. */
  replayed: boolean;
}

const MAX_KEY = 256;
const MAX_REASON = 500;
const MAX_POSTINGS = 1000;
const MAX_ID = 256;
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);
const SAFE_MIN = BigInt(Number.MIN_SAFE_INTEGER);

/**
 * Posts a transaction: checks it (safe-integer non-zero amounts, postings that sum to zero, known kind,
 * buckets and accounts), then, holding its accounts (locked in name order), checks that no held balance
 * and no available balance the caller does not allow to be negative would go below zero, and writes the
 * transaction, its postings and the new balances. The same idempotency key with the same content returns
 * the transaction posted before and changes nothing; with other content it is an `idempotency_conflict`.
 * Throws LedgerError, having written nothing.
 */
export async function postTransaction(
  tx: StoreTx,
  input: NewLedgerTransaction,
  options: PostOptions = {},
): Promise<Posted> {
  const wanted = checkTransaction(input);
  const before = await tx.findLedgerTransaction(wanted.idempotencyKey);
  if (before) return replay(before, wanted);
  const now = options.now ?? Date.now();
  const allowNegative = options.allowNegative ?? onlyExternalMayBeNegative;
  const balances = await tx.lockLedgerAccounts(
    wanted.postings.map((p) => p.account),
    now,
  );
  // Read again under the locks: a concurrent post of the same key (same accounts) has committed by now.
  const raced = await tx.findLedgerTransaction(wanted.idempotencyKey);
  if (raced) return replay(raced, wanted);

  const after = new Map<string, LedgerAmounts>();
  const lowered = new Set<string>();
  for (const posting of wanted.postings) {
    const current = after.get(posting.account) ?? { ...balances.get(posting.account)! };
    current[posting.bucket] += BigInt(posting.amount);
    if (posting.amount < 0) lowered.add(`${posting.account}\n${posting.bucket}`);
    after.set(posting.account, current);
  }
  for (const [account, amounts] of after) {
    for (const bucket of LEDGER_BUCKETS) {
      const value = amounts[bucket];
      if (value > SAFE_MAX || value < SAFE_MIN) {
        throw new LedgerError(
          'invalid_transaction',
          `transaction "${wanted.idempotencyKey}" would take the ${bucket} balance of ${account} past the safe integers`,
          { context: { idempotencyKey: wanted.idempotencyKey, account, bucket } },
        );
      }
      // Only what this transaction lowers is refused: a credit to an account that is short is always welcome.
      const mayBeNegative = bucket === 'available' && allowNegative(account);
      if (value < 0n && !mayBeNegative && lowered.has(`${account}\n${bucket}`)) {
        const had = balances.get(account)![bucket];
        const missing = -value;
        throw new LedgerError(
          'insufficient_funds',
          `${account} is ${missing} micro-units short in ${bucket} for ${wanted.kind} "${wanted.idempotencyKey}": it has ${had} and the transaction takes ${had - value}; credit the account or ask for less`,
          {
            context: {
              idempotencyKey: wanted.idempotencyKey,
              account,
              bucket,
              missing: Number(missing),
              balance: Number(had),
            },
          },
        );
      }
    }
  }
  const transaction: LedgerTransactionRecord = { id: uuidv7(), ...wanted, createdAt: now };
  await tx.insertLedgerTransaction(transaction);
  await tx.setLedgerBalances(after, now);
  return { transaction, replayed: false };
}

type CheckedTransaction = Omit<LedgerTransactionRecord, 'id' | 'createdAt'>;

/** A transaction as the ledger would write it, or a LedgerError saying what is wrong (input is untrusted). */
export function checkTransaction(input: NewLedgerTransaction): CheckedTransaction {
  const bad = (message: string, context: Record<string, unknown> = {}): never => {
    throw new LedgerError('invalid_transaction', message, { context });
  };
  const raw = input as Partial<Record<keyof NewLedgerTransaction, unknown>>;
  const key = raw.idempotencyKey;
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY) {
    bad(`idempotencyKey must be a string of 1 to ${MAX_KEY} characters`, { field: 'idempotencyKey' });
  }
  const idempotencyKey = key as string;
  const at = { idempotencyKey };
  if (typeof raw.kind !== 'string' || !(LEDGER_KINDS as readonly string[]).includes(raw.kind)) {
    bad(`kind must be one of ${LEDGER_KINDS.join(', ')}, not ${JSON.stringify(raw.kind)}`, { ...at, field: 'kind' });
  }
  const checked: CheckedTransaction = { idempotencyKey, kind: raw.kind as LedgerKind, postings: [] };
  for (const field of ['executionId', 'listingId'] as const) {
    const value = raw[field];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID) {
      bad(`${field} must be a string of 1 to ${MAX_ID} characters`, { ...at, field });
    }
    checked[field] = value as string;
  }
  if (raw.revision !== undefined) {
    if (typeof raw.revision !== 'number' || !Number.isSafeInteger(raw.revision) || raw.revision < 0) {
      bad('revision must be a non-negative safe integer', { ...at, field: 'revision' });
    }
    checked.revision = raw.revision as number;
  }
  const postings = raw.postings;
  if (!Array.isArray(postings) || postings.length < 2 || postings.length > MAX_POSTINGS) {
    bad(`a transaction needs 2 to ${MAX_POSTINGS} postings`, { ...at, field: 'postings' });
  }
  let sum = 0n;
  (postings as unknown[]).forEach((item, i) => {
    const field = `postings[${i}]`;
    const p = (typeof item === 'object' && item !== null ? item : {}) as Partial<Record<keyof LedgerPosting, unknown>>;
    if (typeof p.account !== 'string' || !isLedgerAccount(p.account)) {
      bad(`${field}.account ${JSON.stringify(p.account)} is neither a principal's name nor a system account`, {
        ...at,
        field: `${field}.account`,
      });
    }
    if (typeof p.bucket !== 'string' || !(LEDGER_BUCKETS as readonly string[]).includes(p.bucket)) {
      bad(`${field}.bucket must be one of ${LEDGER_BUCKETS.join(', ')}`, { ...at, field: `${field}.bucket` });
    }
    if (typeof p.amount !== 'number' || !Number.isSafeInteger(p.amount) || p.amount === 0) {
      bad(`${field}.amount must be a non-zero safe integer of micro-units, not ${String(p.amount)}`, {
        ...at,
        field: `${field}.amount`,
      });
    }
    if (typeof p.reason !== 'string' || p.reason.length === 0 || p.reason.length > MAX_REASON) {
      bad(`${field}.reason must be a string of 1 to ${MAX_REASON} characters`, { ...at, field: `${field}.reason` });
    }
    const posting = {
      account: p.account as string,
      bucket: p.bucket as LedgerBucket,
      amount: p.amount as number,
      reason: p.reason as string,
    };
    sum += BigInt(posting.amount);
    checked.postings.push(posting);
  });
  if (sum !== 0n) {
    throw new LedgerError(
      'unbalanced_transaction',
      `the postings of "${idempotencyKey}" sum to ${sum}, not zero: every amount taken from one account must go to another`,
      { context: { ...at, sum: String(sum) } },
    );
  }
  return checked;
}

function replay(stored: LedgerTransactionRecord, wanted: CheckedTransaction): Posted {
  if (contentOf(stored) !== contentOf(wanted)) {
    throw new LedgerError(
      'idempotency_conflict',
      `idempotency key "${wanted.idempotencyKey}" was used for another transaction (${stored.kind}, posted at ${new Date(stored.createdAt).toISOString()}); use a new key for a new transaction`,
      { context: { idempotencyKey: wanted.idempotencyKey, transactionId: stored.id } },
    );
  }
  return { transaction: stored, replayed: true };
}

/** What makes two posts of one key the same transaction: everything but its id and time. */
function contentOf(t: CheckedTransaction): string {
  return JSON.stringify([
    t.kind,
    t.executionId ?? null,
    t.revision ?? null,
    t.listingId ?? null,
    t.postings.map((p) => [p.account, p.bucket, p.amount, p.reason]),
  ]);
}

// ---------------------------------------------------------------------------------------------------------
// The simple transactions, as postings (the marketplace's settlements build their own)

type Ref = LedgerReference & { reason?: string };

/** A top-up: money comes in from outside the ledger. */
export function creditOf(account: string, amount: number, idempotencyKey: string, ref: Ref = {}): NewLedgerTransaction {
  const { reason = 'credit', ...reference } = ref;
  return {
    idempotencyKey,
    kind: 'credit',
    ...reference,
    postings: [
      { account: EXTERNAL_ACCOUNT, bucket: 'available', amount: -amount, reason },
      { account, bucket: 'available', amount, reason },
    ],
  };
}

/** A payout: money leaves the ledger from an account's available balance. */
export function payoutOf(account: string, amount: number, idempotencyKey: string, ref: Ref = {}): NewLedgerTransaction {
  const { reason = 'payout', ...reference } = ref;
  return {
    idempotencyKey,
    kind: 'payout',
    ...reference,
    postings: [
      { account, bucket: 'available', amount: -amount, reason },
      { account: EXTERNAL_ACCOUNT, bucket: 'available', amount, reason },
    ],
  };
}

/** A hold: an account sets aside the most a run can cost, from available to held. */
export function holdOf(account: string, amount: number, idempotencyKey: string, ref: Ref = {}): NewLedgerTransaction {
  const { reason = 'hold', ...reference } = ref;
  return {
    idempotencyKey,
    kind: 'hold',
    ...reference,
    postings: [
      { account, bucket: 'available', amount: -amount, reason },
      { account, bucket: 'held', amount, reason },
    ],
  };
}

/** A release: what a hold set aside and nothing charged goes back to available. */
export function releaseOf(
  account: string,
  amount: number,
  idempotencyKey: string,
  ref: Ref = {},
): NewLedgerTransaction {
  const { reason = 'release', ...reference } = ref;
  return {
    idempotencyKey,
    kind: 'release',
    ...reference,
    postings: [
      { account, bucket: 'held', amount: -amount, reason },
      { account, bucket: 'available', amount, reason },
    ],
  };
}

/** A settlement: the payer's held money goes to the payees' available balances (amounts > 0 each). */
export function settlementOf(
  payer: string,
  payees: readonly { account: string; amount: number; reason: string }[],
  idempotencyKey: string,
  ref: LedgerReference = {},
): NewLedgerTransaction {
  const total = payees.reduce((sum, p) => sum + BigInt(p.amount), 0n);
  return {
    idempotencyKey,
    kind: 'settlement',
    ...ref,
    postings: [
      // Past the safe integers, Number(-total) is not one, and the check refuses the transaction.
      { account: payer, bucket: 'held', amount: -Number(total), reason: 'settlement' },
      ...payees.map((p): LedgerPosting => ({
        account: p.account,
        bucket: 'available',
        amount: p.amount,
        reason: p.reason,
      })),
    ],
  };
}
