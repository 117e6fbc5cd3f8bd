import type { z } from 'zod';
import { ZK_BUNDLE_MEDIA_TYPE, bundleSchema, zkBundleSchema } from '../bundle.js';
import type { Bundle, ZkBundle } from '../bundle.js';
import { fromHex } from '../bytes.js';
import { sha256Hex } from '../digest.js';
import { envelopePayload } from '../dsse.js';
import { checkLog, verifyBasic } from './basic.js';
import { verifySettlements } from './settlements.js';
import { paidAttestations } from '../counted.js';
import { verifyZk } from './zk.js';
import { verifyFull } from './full.js';
import type { FullLimits } from './full.js';
import type { ExpressionEvaluator } from '../../expressions/evaluator.js';
import { Checks } from './report.js';
import { trustedKeyMap } from './trusted-keys.js';
import type { VerificationLevel, VerificationReport } from './report.js';

export interface VerifyOptions {
  /** Coordinator public keys to trust: PEM (SPKI) text or raw 32-byte keys. The bundle's own keys never are. */
  trustedKeys: readonly (string | Uint8Array)[];
  level?: VerificationLevel;
  /** Groth16 verification keys to pin at level zk; without one, the key the signed statement names by digest is used. */
  zkVerificationKeys?: readonly unknown[];
  /**
   * Where level full evaluates the workflow's expressions (its conditions, mappings and transforms): a
   * sandbox, because a bundle's definition is whoever made the bundle's code. In Node,
   * `new ProcessEvaluator()` (verity's main entry); in a browser, `new WebWorkerEvaluator(...)`. Required
   * at level full.
   */
  evaluator?: ExpressionEvaluator;
  /** Time limits of level full's re-evaluations. */
  fullLimits?: FullLimits;
}

/**
 * Checks a bundle offline, with public keys alone. Pure: no store, no engine, no network; the same code
 * runs in the CLI, the API and a browser. Never throws for a bad bundle: the report says what is wrong,
 * and `unusable` is set when the bundle cannot be read at all.
 */
export async function verifyBundle(input: unknown, options: VerifyOptions): Promise<VerificationReport> {
  const level = options.level ?? 'basic';
  const keys = trustedKeyMap(options.trustedKeys);
  if ('unusable' in keys) return { ok: false, level, unusable: keys.unusable, checks: [] };
  const { trusted } = keys;
  if (level === 'full' && !options.evaluator) {
    return {
      ok: false,
      level,
      unusable:
        "level full re-evaluates the workflow's expressions and needs an evaluator to run them in: pass `evaluator` (a ProcessEvaluator in Node, a WebWorkerEvaluator in a browser)",
      checks: [],
    };
  }
  if (isZkOnly(input)) return verifyZkOnly(input, trusted, level, options);
  const parsed = bundleSchema.safeParse(input);
  if (!parsed.success) {
    return { ok: false, level, unusable: `not a Verity bundle: ${describe(parsed.error)}`, checks: [] };
  }
  const bundle = parsed.data as Bundle;
  const checks = new Checks();
  const predicate = await verifyBasic(bundle, trusted, checks);
  // The money: at every level, since what the payer was charged is checked from the receipt alone.
  if (predicate && bundle.settlements) {
    let payloadDigest: string | undefined;
    try {
      payloadDigest = sha256Hex(envelopePayload(bundle.receipt));
    } catch {
      payloadDigest = undefined;
    }
    if (payloadDigest !== undefined) {
      await verifySettlements(
        bundle.settlements,
        { predicate, payloadDigest, counted: paidAttestations(predicate) },
        trusted,
        checks,
      );
    }
  }
  if (predicate && level === 'full')
    await verifyFull(bundle, predicate, checks, options.evaluator!, options.fullLimits);
  if (predicate && level === 'zk') {
    if (!bundle.zk) {
      checks.fail(
        'zk.proofs',
        predicate.zk
          ? 'the bundle carries no zk proofs yet: fetch it again once proving is done (`verity status` shows progress)'
          : 'the receipt has no zk values: the execution did not run at verification level zk',
      );
    } else {
      await verifyZk(bundle.zk, trusted, checks, {
        receipt: { predicate, payloadDigest: sha256Hex(envelopePayload(bundle.receipt)) },
        ...(options.zkVerificationKeys && { pinnedKeys: options.zkVerificationKeys }),
      });
    }
  }
  return {
    ok: checks.ok && predicate !== undefined,
    level,
    ...(predicate && {
      executionId: predicate.executionId,
      workflow: predicate.workflow,
      status: predicate.status,
    }),
    checks: checks.list,
  };
}

function isZkOnly(input: unknown): boolean {
  return (
    typeof input === 'object' && input !== null && (input as { mediaType?: unknown }).mediaType === ZK_BUNDLE_MEDIA_TYPE
  );
}

/** A zk-only bundle: the zk statement stands in for the receipt; only level zk applies. */
async function verifyZkOnly(
  input: unknown,
  trusted: ReadonlyMap<string, Uint8Array>,
  level: VerificationLevel,
  options: VerifyOptions,
): Promise<VerificationReport> {
  if (level !== 'zk') {
    return {
      ok: false,
      level,
      unusable: `a zk-only bundle carries no receipt or attestations: verify it with --level zk, or fetch the full bundle for level ${level}`,
      checks: [],
    };
  }
  const parsed = zkBundleSchema.safeParse(input);
  if (!parsed.success)
    return { ok: false, level, unusable: `not a Verity zk bundle: ${describe(parsed.error)}`, checks: [] };
  const bundle = parsed.data as ZkBundle;
  const checks = new Checks();
  const predicate = await verifyZk(
    bundle.zk,
    trusted,
    checks,
    options.zkVerificationKeys ? { pinnedKeys: options.zkVerificationKeys } : {},
  );
  if (predicate) await checkLog(bundle.tlog, fromHex(predicate.receiptDigest), trusted, checks);
  return {
    ok: checks.ok && predicate !== undefined,
    level,
    ...(predicate && { executionId: predicate.executionId, workflow: predicate.workflow, status: 'completed' }),
    checks: checks.list,
  };
}

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}
