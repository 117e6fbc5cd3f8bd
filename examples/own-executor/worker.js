// A worker with your executors, started from code. VERITY_SERVER and VERITY_API_KEY (a key with the
// worker role) say where and as whom; SIGTERM or Ctrl-C stops it gracefully.
import { runWorker } from 'verity/worker';
import { slowEcho, wordStats } from './executors.js';

const worker = await runWorker({ executors: [wordStats, slowEcho], concurrency: 4 });
process.stderr.write(
  `worker ${worker.id} (key ${worker.keyId.slice(0, 16)}…) is running acme/word-stats and acme/slow-echo\n`,
);
await worker.stopped;
