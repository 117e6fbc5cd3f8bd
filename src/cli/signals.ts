import type { VerityNode } from '../node/verity-node.js';
import { EXIT } from './errors.js';

/**
 * Runs fn with the node open and closes it afterwards. Ctrl-C stops the node gracefully (running jobs get
 * a moment to finish, the rest go back to the queue) and leaves the execution in the store, where
 * `verity resume` picks it up.
 */
export async function interruptible(node: VerityNode, fn: () => Promise<void>): Promise<void> {
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(EXIT.interrupted);
    interrupted = true;
    process.stderr.write('\ninterrupted: stopping; unfinished executions continue with `verity resume`\n');
    node
      .stop(2000)
      .catch(() => undefined)
      .finally(() => process.exit(EXIT.interrupted));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await fn();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (!interrupted) await node.stop();
  }
}
