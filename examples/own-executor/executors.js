// Your own steps, as a worker runs them. Each executor is a function from a step's input to its output,
// under the name steps call it by (model_requirements.name). Load this module into a worker with
//   verity worker --executors examples/own-executor/executors.js
// or run worker.js, which starts one with runWorker.
import { setTimeout as sleep } from 'node:timers/promises';
import { defineExecutor } from 'verity/worker';
import { z } from 'zod';

/** Counts a text's words and names the most frequent: a deterministic step, metered by the word. */
export const wordStats = defineExecutor({
  name: 'acme/word-stats',
  version: '1',
  stepTypes: ['inference', 'data_processing'],
  input: z.object({ text: z.string().min(1), top: z.number().int().min(1).max(20).default(3) }),
  output: z.object({
    words: z.number(),
    distinct: z.number(),
    top: z.array(z.object({ word: z.string(), count: z.number() })),
  }),
  run: async ({ text, top }, ctx) => {
    const words = text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
    const counts = new Map();
    for (const word of words) counts.set(word, (counts.get(word) ?? 0) + 1);
    const ranked = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, top);
    // One micro-unit per word: signed in the attestation and charged to the execution.
    ctx.reportCost(words.length, { words: words.length });
    return { words: words.length, distinct: counts.size, top: ranked.map(([word, count]) => ({ word, count })) };
  },
});

/** Waits, then answers: shows cancellation (ctx.signal) and time-outs. */
export const slowEcho = defineExecutor({
  name: 'acme/slow-echo',
  version: '1',
  input: z.object({ ms: z.number().int().min(0).max(60_000), value: z.unknown() }),
  run: async ({ ms, value }, ctx) => {
    // Rejects the moment the step is cancelled or times out.
    await sleep(ms, undefined, { signal: ctx.signal });
    return { value };
  },
});
