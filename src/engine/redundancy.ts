import { countAgreement } from '../attest/quorum.js';

/**
 * Where a redundant step's vote stands: k replicas of one attempt ran on distinct workers, and the output
 * is the one `quorum` of them agree on. Voters are principals (src/attest/quorum.ts: one party with many
 * worker keys is one voter), as the coordinator recorded them when it assigned each job; the verifier
 * counts them by the same rule. Pure, so the rule is tested on its own.
 */
export interface Vote {
  replica: number;
  outputDigest: string;
  workerId: string;
  workerKeyId?: string | undefined;
  /** Who registered the worker that ran the replica, as the coordinator recorded it at assignment. */
  principal?: string | undefined;
}

export type Tally =
  | { state: 'agreed'; outputDigest: string; primary: number; agreeing: number }
  | { state: 'waiting'; best: number }
  | { state: 'impossible'; best: number };

export function tally(votes: readonly Vote[], pending: number, quorum: number): Tally {
  const groups = new Map<string, { votes: Vote[]; primary: number }>();
  for (const vote of votes) {
    const group = groups.get(vote.outputDigest) ?? { votes: [], primary: vote.replica };
    group.votes.push(vote);
    group.primary = Math.min(group.primary, vote.replica);
    groups.set(vote.outputDigest, group);
  }
  let best = 0;
  for (const [outputDigest, group] of groups) {
    const agreeing = countAgreement(group.votes).count;
    if (agreeing >= quorum) return { state: 'agreed', outputDigest, primary: group.primary, agreeing };
    best = Math.max(best, agreeing);
  }
  return best + pending >= quorum ? { state: 'waiting', best } : { state: 'impossible', best };
}

/** Names who said what, for a `redundancy_mismatch` error: "replica 0 on worker w1 of acme (key 1a2b…) → 3f4e…". */
export function describeVotes(votes: readonly Vote[]): string {
  return votes
    .map(
      (v) =>
        `replica ${v.replica} on worker ${v.workerId}${v.principal !== undefined ? ` of ${v.principal}` : ''}${v.workerKeyId ? ` (key ${v.workerKeyId.slice(0, 12)}…)` : ''} → ${v.outputDigest.slice(0, 12)}…`,
    )
    .join('; ');
}
