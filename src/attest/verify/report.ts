/** One rule the verifier applied, and what it found. */
export interface Check {
  /** Stable name of the rule: `receipt.signature`, `attestation.<stepId>`, `redundancy.replica.<stepId>.<n>`, `tlog.inclusion`, `lineage.<stepId>`, … */
  name: string;
  ok: boolean;
  /** The rule could not be applied (nothing to check, or not deterministic); not a failure. */
  skipped?: boolean;
  /** On failure, exactly what did not match. */
  message: string;
}

/** basic and full check a bundle with its receipt; zk checks the proofs (of a full bundle, or a zk-only one). */
export type VerificationLevel = 'basic' | 'full' | 'zk';

export interface VerificationReport {
  /** True only when every check passed (skipped checks do not count against it). */
  ok: boolean;
  level: VerificationLevel;
  /** The bundle could not be read at all (not JSON, wrong shape, no trusted key): exit code 2. */
  unusable?: string;
  executionId?: string;
  workflow?: { id: string; version: number; digest: string };
  status?: string;
  checks: Check[];
}

/** Collects checks in order. */
export class Checks {
  readonly list: Check[] = [];

  pass(name: string, message: string): void {
    this.list.push({ name, ok: true, message });
  }

  fail(name: string, message: string): void {
    this.list.push({ name, ok: false, message });
  }

  skip(name: string, message: string): void {
    this.list.push({ name, ok: true, skipped: true, message });
  }

  /** Records a check from a condition: `ok` passes with `good`, otherwise fails with `bad`. */
  expect(name: string, ok: boolean, good: string, bad: string): boolean {
    if (ok) this.pass(name, good);
    else this.fail(name, bad);
    return ok;
  }

  get ok(): boolean {
    return this.list.every((c) => c.ok);
  }
}
