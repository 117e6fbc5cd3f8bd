import { getAddress, isAddress } from 'viem';
import { z } from 'zod';
import { envelopeSchema } from '../attest/bundle.js';
import type { BundleTlog } from '../attest/bundle.js';
import { sha256 } from '../attest/digest.js';
import { envelopePayload } from '../attest/dsse.js';
import type { Statement } from '../attest/statement.js';
import { checkLog } from '../attest/verify/basic.js';
import { checkCoordinatorStatement } from '../attest/verify/coordinator-statement.js';
import { Checks } from '../attest/verify/report.js';
import type { Check } from '../attest/verify/report.js';

/**
 * What the binding statements share: field schemas, and the verifier's frame (a coordinator statement signed
 * by a trusted key, optionally its place in the log, then named field checks). Pure: no store, no network,
 * so `verity verify` and the browser run it as they are.
 */

/** An EIP-55 checksummed address, exactly as `getAddress` writes it: one spelling, so one canonical statement. */
export const checksummedAddress = z
  .string()
  .max(42)
  .refine((value) => isAddress(value, { strict: false }) && getAddress(value) === value, {
    error: 'must be a checksummed address (EIP-55)',
  });

export const chainIdSchema = z.int().min(1).max(Number.MAX_SAFE_INTEGER);
export const isoTime = z.iso.datetime({ offset: false });

/** What a binding check concluded: every check in order, and the predicate when a trusted key signed it. */
export interface BindingVerification<P> {
  ok: boolean;
  checks: Check[];
  predicate?: P;
}

/** The verifier's frame for one binding statement; `fields` adds the statement's own checks. Never throws. */
export async function verifyBindingStatement<S extends z.ZodType>(
  envelope: unknown,
  trusted: ReadonlyMap<string, Uint8Array>,
  options: {
    label: string;
    what: string;
    predicateType: string;
    predicateSchema: S;
    tlog?: BundleTlog | undefined;
    fields: (statement: Statement<z.output<S>>, checks: Checks) => Promise<void> | void;
  },
): Promise<BindingVerification<z.output<S>>> {
  const checks = new Checks();
  const { label } = options;
  try {
    const parsed = envelopeSchema.safeParse(envelope);
    if (!parsed.success) {
      checks.fail(`${label}.signature`, `${options.what} is not a DSSE envelope`);
      return { ok: false, checks: checks.list };
    }
    const signed = parsed.data;
    const statement = await checkCoordinatorStatement(
      signed,
      trusted,
      checks,
      { signature: `${label}.signature`, statement: `${label}.statement`, what: options.what },
      options.predicateType,
      options.predicateSchema,
    );
    // Nothing of a statement no trusted key signed is looked at further, as for every coordinator statement.
    if (!statement) return { ok: false, checks: checks.list };
    if (options.tlog) {
      await checkLog(options.tlog, sha256(envelopePayload(signed)), trusted, checks, {
        checkpoint: `${label}.checkpoint`,
        inclusion: `${label}.inclusion`,
        what: options.what,
      });
    }
    await options.fields(statement, checks);
    return { ok: checks.ok, checks: checks.list, predicate: statement.predicate };
  } catch (error) {
    checks.fail(`${label}.statement`, `cannot check ${options.what}: ${(error as Error).message}`);
    return { ok: false, checks: checks.list };
  }
}

/** A field against what the caller expects of it; skipped when the caller expects nothing. */
export function expectField(
  checks: Checks,
  name: string,
  actual: string | number,
  expected: string | number | undefined,
): void {
  if (expected === undefined) {
    checks.skip(name, 'nothing expected of it');
    return;
  }
  const want = typeof expected === 'string' && isAddress(expected, { strict: false }) ? getAddress(expected) : expected;
  checks.expect(
    name,
    actual === want,
    `is ${actual}`,
    `is ${JSON.stringify(actual)}, expected ${JSON.stringify(want)}`,
  );
}
