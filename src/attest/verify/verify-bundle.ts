import type { z } from 'zod';
import { bundleSchema } from '../bundle.js';
import type { Bundle } from '../bundle.js';
import { keyIdOf, publicKeyFromPem } from '../keys.js';
import { verifyBasic } from './basic.js';
import { verifyFull } from './full.js';
import { Checks } from './report.js';
import type { VerificationLevel, VerificationReport } from './report.js';

export interface VerifyOptions {
  /** Coordinator public keys to trust: PEM (SPKI) text or raw 32-byte keys. The bundle's own keys never are. */
  trustedKeys: readonly (string | Uint8Array)[];
  level?: VerificationLevel;
}

/**
 * Checks a bundle offline, with public keys alone. Pure: no store, no engine, no network; the same code
 * runs in the CLI, the API and a browser. Never throws for a bad bundle: the report says what is wrong,
 * and `unusable` is set when the bundle cannot be read at all.
 */
export async function verifyBundle(input: unknown, options: VerifyOptions): Promise<VerificationReport> {
  const level = options.level ?? 'basic';
  const trusted = new Map<string, Uint8Array>();
  for (const key of options.trustedKeys) {
    try {
      const raw = typeof key === 'string' ? publicKeyFromPem(key) : key;
      trusted.set(keyIdOf(raw), raw);
    } catch (error) {
      return { ok: false, level, unusable: `a trusted key is unusable: ${(error as Error).message}`, checks: [] };
    }
  }
  if (trusted.size === 0) {
    return { ok: false, level, unusable: 'no trusted key: pass the coordinator public key (--trust KEY.pem); keys inside a bundle are never trusted on their own word', checks: [] };
  }
  const parsed = bundleSchema.safeParse(input);
  if (!parsed.success) {
    return { ok: false, level, unusable: `not a Verity bundle: ${describe(parsed.error)}`, checks: [] };
  }
  const bundle = parsed.data as Bundle;
  const checks = new Checks();
  const predicate = await verifyBasic(bundle, trusted, checks);
  if (predicate && level === 'full') await verifyFull(bundle, predicate, checks);
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

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}
