import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { ZkError } from '../../attest/zk/errors.js';
import type { BatchInput } from '../witness.js';
import type { Groth16Proof } from '../../attest/zk/proof.js';

/*
 * Witness generation and Groth16 proving are seconds of CPU each; on the main thread they would stall
 * every request and every other execution. Provers are child processes rather than worker threads:
 * snarkjs's curve library replaces a worker thread's global scope with its own, and a prover that runs
 * out of memory then takes only itself down. Each takes one batch at a time, single-threaded, and they
 * run side by side, one per core. The child is CommonJS passed as source, so it runs the same whether
 * Verity runs from src/ (tsx, vitest) or from dist/.
 */
const PROVER_SOURCE = `
const snarkjs = require(process.env.VERITY_SNARKJS);
const message = (error) => (error && error.message ? error.message : String(error));
process.on('message', async ({ id, input, wasm, zkey }) => {
  const started = performance.now();
  try {
    const { proof, publicSignals } = await snarkjs.groth16.fullProve(input, wasm, zkey, undefined, {}, { singleThread: true });
    process.send({ id, proof, publicSignals, ms: performance.now() - started });
  } catch (error) {
    process.send({ id, error: message(error), ms: performance.now() - started });
  }
});
process.on('disconnect', () => process.exit(0));
`;

type Reply = { id: number; proof?: Groth16Proof; publicSignals?: string[]; error?: string; ms: number };

export interface ProvedBatch {
  proof: Groth16Proof;
  publicSignals: string[];
  /** Wall time of witness generation and proving in its process. */
  ms: number;
}

interface Task {
  id: number;
  input: BatchInput;
  wasm: string;
  zkey: string;
  resolve: (result: ProvedBatch) => void;
  reject: (error: Error) => void;
}

/** Prover processes, started on first use and kept: each keeps its curve context warm between batches. */
export class ProverPool {
  private readonly idle: ChildProcess[] = [];
  private readonly busy = new Map<ChildProcess, Task>();
  private readonly queue: Task[] = [];
  private started = 0;
  private nextId = 0;
  private closed = false;

  constructor(readonly processes: number = Math.max(1, Math.min(2, availableParallelism()))) {}

  get pending(): number {
    return this.queue.length + this.busy.size;
  }

  prove(input: BatchInput, wasm: string, zkey: string): Promise<ProvedBatch> {
    if (this.closed) return Promise.reject(new ZkError('proving_failed', 'the prover pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, input, wasm, zkey, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const task of this.queue.splice(0))
      task.reject(new ZkError('proving_failed', 'the prover pool closed before this batch was proven'));
    const all = [...this.idle, ...this.busy.keys()];
    this.idle.length = 0;
    await Promise.all(
      all.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill();
          }),
      ),
    );
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const worker = this.idle.pop() ?? (this.started < this.processes ? this.spawn() : undefined);
      if (!worker) return;
      const task = this.queue.shift()!;
      this.busy.set(worker, task);
      worker.send({ id: task.id, input: task.input, wasm: task.wasm, zkey: task.zkey });
    }
  }

  private spawn(): ChildProcess {
    this.started++;
    const snarkjs = createRequire(import.meta.url).resolve('snarkjs');
    const worker = spawn(process.execPath, ['-e', PROVER_SOURCE], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: { ...process.env, VERITY_SNARKJS: snarkjs },
    });
    worker.on('message', (reply: Reply) => {
      const task = this.busy.get(worker);
      this.busy.delete(worker);
      if (!this.closed) this.idle.push(worker);
      if (task) {
        if (reply.error !== undefined || !reply.proof || !reply.publicSignals) {
          // snarkjs reports an unsatisfied constraint as "Assert Failed" from the witness calculator.
          task.reject(
            new ZkError(
              /assert/i.test(reply.error ?? '') ? 'witness_failed' : 'proving_failed',
              `proving failed: ${reply.error ?? 'no proof came back'}`,
            ),
          );
        } else {
          task.resolve({ proof: reply.proof, publicSignals: reply.publicSignals, ms: reply.ms });
        }
      }
      this.dispatch();
    });
    const lost = (error: Error) => {
      const task = this.busy.get(worker);
      this.busy.delete(worker);
      const index = this.idle.indexOf(worker);
      if (index >= 0) this.idle.splice(index, 1);
      this.started--;
      task?.reject(new ZkError('proving_failed', `a prover process died: ${error.message}`, { cause: error }));
      if (!this.closed) this.dispatch();
    };
    worker.on('error', lost);
    worker.on('exit', (code, signal) => {
      if (!this.closed) lost(new Error(signal ? `killed by ${signal}` : `exit code ${code}`));
    });
    return worker;
  }
}
