import { formatSummary, runCampaign } from './campaign.js';

/**
 * `npm run fuzz`: the long attack (100,000 requests by default) against a real `verity serve`.
 * FUZZ_SEED replays a run; FUZZ_REQUESTS, FUZZ_CONCURRENCY change its size. Exits 1 on any failure.
 */
// Stopped with Ctrl-C or a kill: exit, so that the target's exit hook stops the server it started.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
const seed = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const requests = Number(process.env.FUZZ_REQUESTS ?? 100_000);
console.log(`verity attack: seed ${seed} (replay with FUZZ_SEED=${seed}), ${requests} requests`);
const summary = await runCampaign({
  seed,
  requests,
  perPair: Number(process.env.FUZZ_PER_PAIR ?? 8),
  concurrency: Number(process.env.FUZZ_CONCURRENCY ?? 8),
  log: (line) => console.log(line),
});
console.log(formatSummary(summary));
process.exit(summary.failures.length > 0 ? 1 : 0);
