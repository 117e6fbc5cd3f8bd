/**
 * The one rule of a redundancy quorum, shared by the engine (which decides when a redundant step has its
 * answer) and the verifier (which checks that a receipt's answer had it): agreeing replicas count once per
 * distinct **principal**, the party behind the API key that registered the worker (or the node, for its
 * in-process workers). Keys are free to make, so one party with many keys still has one voice; the
 * principal is what the coordinator recorded when it assigned the job, never what a worker says of itself.
 * Distinct keys are still required too (one key under two principals is one worker), so a quorum is the
 * smaller of the two counts.
 *
 * Pure and total: no I/O, never throws.
 */
export interface Voice {
  /** Who the coordinator says ran the replica; absent only for results recorded before principals were. */
  principal?: string | undefined;
  /** The key that signed the replica's attestation. */
  workerKeyId?: string | undefined;
  /** The worker that ran it: what stands for the key of an unattested result (bench only). */
  workerId?: string | undefined;
}

export interface Agreement {
  principals: number;
  keys: number;
  /** What counts towards the quorum: min(principals, keys). */
  count: number;
}

/** A replica's worker key; prefixes keep the kinds of name apart, so none can pose as another. */
function keyOf(voice: Voice): string {
  return voice.workerKeyId !== undefined ? `key:${voice.workerKeyId}` : `worker:${voice.workerId ?? ''}`;
}

/** A replica's principal; one recorded without (older rows) stands for itself by its key. */
function principalOf(voice: Voice): string {
  return voice.principal !== undefined ? `principal:${voice.principal}` : keyOf(voice);
}

/** How many distinct principals and keys a set of agreeing replicas has, and what counts towards a quorum. */
export function countAgreement(replicas: readonly Voice[]): Agreement {
  const principals = new Set(replicas.map(principalOf)).size;
  const keys = new Set(replicas.map(keyOf)).size;
  return { principals, keys, count: Math.min(principals, keys) };
}

/** "2 distinct principals", or "3 distinct principals on 1 distinct worker key" when keys are fewer. */
export function describeAgreement(agreement: Agreement): string {
  const principals = `${agreement.principals} distinct principal${agreement.principals === 1 ? '' : 's'}`;
  return agreement.keys < agreement.principals
    ? `${principals} on ${agreement.keys} distinct worker key${agreement.keys === 1 ? '' : 's'}`
    : principals;
}
