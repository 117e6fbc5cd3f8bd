import { WebWorkerEvaluator, keyIdOf, publicKeyFromPem, verifyBundle } from 'verity/verify';
import type { VerificationReport, WorkerLike } from 'verity/verify';

export type Level = 'basic' | 'full';

/**
 * Verifies a bundle in this page with the same verifier the CLI runs. Level full re-evaluates the
 * workflow's expressions, which a bundle's author wrote: they run in a Web Worker that is terminated when
 * one overruns, so a hostile bundle cannot hang the page.
 */
export async function verifyHere(bundle: unknown, pem: string, level: Level): Promise<VerificationReport> {
  const evaluator =
    level === 'full'
      ? new WebWorkerEvaluator(
          // The DOM's Worker has what WorkerLike names; its handler types are the DOM's wider event types.
          () =>
            new Worker(new URL('../../../src/expressions/browser/web-worker-entry.ts', import.meta.url), {
              type: 'module',
            }) as unknown as WorkerLike,
        )
      : undefined;
  try {
    return await verifyBundle(bundle, { trustedKeys: [pem], level, ...(evaluator && { evaluator }) });
  } finally {
    await evaluator?.close();
  }
}

/** The key id the verifier uses (the SHA-256 of the raw key), or undefined for text that is not a key. */
export function fingerprint(pem: string): string | undefined {
  try {
    return keyIdOf(publicKeyFromPem(pem));
  } catch {
    return undefined;
  }
}
