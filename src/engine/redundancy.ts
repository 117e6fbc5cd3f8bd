/**
 * Where a redundant step's vote stands: k replicas of one attempt ran on distinct workers, and the output
 * is the one `quorum` of them agree on. Voters are worker keys (a worker that registered twice is still
 * one voter), or worker ids where results are not attested. Pure, so the rule is tested on its own.
 */
export interface Vote {
  replica: number;
  outputDigest: string;
  workerId: string;
  workerKeyId?: string | undefined;
}

export type Tally =
  | { state: 'agreed'; outputDigest: string; primary: number; agreeing: number }
  | { state: 'waiting'; best: number }
  | { state: 'impossible'; best: number };

export function voterOf(vote: Pick<Vote, 'workerId' | 'workerKeyId'>): string {
  return vote.workerKeyId ?? `worker:${vote.workerId}`;
}

export function tally(votes: readonly Vote[], pending: number, quorum: number): Tally {
  const groups = new Map<string, { voters: Set<string>; primary: number }>();
  for (const vote of votes) {
    const group = groups.get(vote.outputDigest) ?? { voters: new Set<string>(), primary: vote.replica };
    group.voters.add(voterOf(vote));
    group.primary = Math.min(group.primary, vote.replica);
    groups.set(vote.outputDigest, group);
  }
  let best = 0;
  for (const [outputDigest, group] of groups) {
    if (group.voters.size >= quorum) return { state: 'agreed', outputDigest, primary: group.primary, agreeing: group.voters.size };
    best = Math.max(best, group.voters.size);
  }
  return best + pending >= quorum ? { state: 'waiting', best } : { state: 'impossible', best };
}

/** Names who said what, for a `redundancy_mismatch` error: "worker w1 (key 1a2b…) → 3f4e…". */
export function describeVotes(votes: readonly Vote[]): string {
  return votes.map((v) => `replica ${v.replica} on worker ${v.workerId}${v.workerKeyId ? ` (key ${v.workerKeyId.slice(0, 12)}…)` : ''} → ${v.outputDigest.slice(0, 12)}…`).join('; ');
}
