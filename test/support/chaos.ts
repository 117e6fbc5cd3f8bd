/**
 * What the chaos tests share: waiting for a condition, and a chain whose result proves every step ran
 * once, in order, on its predecessor's output.
 */

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An execution's statuses from which it never moves again. */
export const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'timed_out', 'budget_exceeded']);

/** Polls `probe` every `everyMs` until it gives a value; fails naming `what` after `timeoutMs`. */
export async function until<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
  everyMs = 100,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** The result `acc` of a chain of `steps` where step i computes acc * 3 + i from the one before (step 0: the seed). */
export const expectedAcc = (seed: number, steps: number) =>
  Array.from({ length: steps - 1 }, (_, i) => i + 1).reduce((a, i) => a * 3 + i, seed);
