import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ZkError } from '../attest/zk/errors.js';
import { parseField } from '../attest/zk/fields.js';
import type { ZkPublicKey, ZkSignature } from './babyjub.js';

/*
 * An EdDSA-Poseidon signature costs about 22 ms to make and as much to check (circomlibjs; no library
 * does much better). On the main thread that stalls every request and every other step, so a zk-level
 * chain ran ~20× slower than the same chain at level basic. The work runs on threads instead, beside the
 * step path: workers sign there, the coordinator checks there. The thread is plain CommonJS passed as
 * source that imports circomlibjs by its resolved URL, so it runs the same from src/ (vitest, tsx) and dist/.
 */
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const message = (error) => (error && error.message ? error.message : String(error));
const eddsa = import(workerData.circomlibjs).then((m) => m.buildEddsa());
parentPort.on('message', async (task) => {
  try {
    const e = await eddsa;
    const F = e.F;
    if (task.op === 'sign') {
      const { R8, S } = e.signPoseidon(task.privateKey, F.e(BigInt(task.message)));
      parentPort.postMessage({ id: task.id, signature: {
        r8x: F.toObject(R8[0]).toString(), r8y: F.toObject(R8[1]).toString(), s: S.toString() } });
      return;
    }
    const A = [F.e(BigInt(task.publicKey.x)), F.e(BigInt(task.publicKey.y))];
    const R8 = [F.e(BigInt(task.signature.r8x)), F.e(BigInt(task.signature.r8y))];
    const S = BigInt(task.signature.s);
    // The circuit refuses S at or above the subgroup order (malleability), and points off the curve; so does this.
    const ok = S < e.babyJub.subOrder && e.babyJub.inCurve(A) && e.babyJub.inCurve(R8) &&
      e.verifyPoseidon(F.e(BigInt(task.message)), { R8, S }, A);
    parentPort.postMessage({ id: task.id, ok: Boolean(ok) });
  } catch (error) {
    parentPort.postMessage({ id: task.id, error: message(error) });
  }
});
`;

type Reply = { id: number; signature?: ZkSignature; ok?: boolean; error?: string };

interface Task {
  id: number;
  message: Record<string, unknown>;
  resolve: (reply: Reply) => void;
  reject: (error: Error) => void;
}

/**
 * A few threads that make and check Baby Jubjub signatures. One by default on a machine of two cores or
 * fewer (the event loop keeps the other), at most two: signatures are a background job, never a race.
 * Idle threads do not keep the process alive.
 */
export class BabyJubPool {
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Task>();
  private readonly queue: Task[] = [];
  private started = 0;
  private nextId = 0;
  private closed = false;

  constructor(readonly threads: number = Math.max(1, Math.min(2, availableParallelism() - 1))) {}

  /** Signs a step leaf with a Baby Jubjub private key (32 bytes), off the main thread. */
  async sign(privateKey: Uint8Array, message: bigint): Promise<ZkSignature> {
    const reply = await this.run({ op: 'sign', privateKey: new Uint8Array(privateKey), message: message.toString() });
    return reply.signature!;
  }

  /**
   * Checks a leaf signature off the main thread, with the same rules as verifyZkSignature: a value that is
   * not a field element, a point off the curve or S out of range is a signature that does not verify.
   */
  async verify(publicKey: ZkPublicKey, message: bigint, signature: ZkSignature): Promise<boolean> {
    let fields: { publicKey: ZkPublicKey; signature: ZkSignature };
    try {
      const text = (value: unknown, name: string) => parseField(value, name).toString();
      fields = {
        publicKey: { x: text(publicKey.x, 'publicKey.x'), y: text(publicKey.y, 'publicKey.y') },
        signature: {
          r8x: text(signature.r8x, 'signature.r8x'),
          r8y: text(signature.r8y, 'signature.r8y'),
          s: text(signature.s, 'signature.s'),
        },
      };
    } catch (error) {
      if (error instanceof ZkError) return false;
      throw error;
    }
    const reply = await this.run({ op: 'verify', ...fields, message: message.toString() });
    return reply.ok === true;
  }

  /** Stops the threads; work still queued is refused. */
  async close(): Promise<void> {
    this.closed = true;
    for (const task of this.queue.splice(0)) task.reject(new ZkError('invalid_signature', 'the signature pool closed'));
    const all = [...this.idle, ...this.busy.keys()];
    this.idle.length = 0;
    await Promise.all(all.map((w) => w.terminate()));
  }

  private run(message: Record<string, unknown>): Promise<Reply> {
    if (this.closed) return Promise.reject(new ZkError('invalid_signature', 'the signature pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, message, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const thread = this.idle.pop() ?? (this.started < this.threads ? this.spawn() : undefined);
      if (!thread) return;
      const task = this.queue.shift()!;
      this.busy.set(thread, task);
      thread.ref();
      thread.postMessage({ id: task.id, ...task.message });
    }
  }

  private spawn(): Worker {
    this.started++;
    const thread = new Worker(THREAD_SOURCE, {
      eval: true,
      // `mod`: circomlibjs's curve library (web-worker) takes any worker thread for one of its own and
      // loads `mod` in it; an empty script keeps it from failing loudly.
      workerData: { circomlibjs: import.meta.resolve('circomlibjs'), mod: 'data:text/javascript,' },
    });
    thread.on('message', (reply: Reply) => {
      const task = this.busy.get(thread);
      if (!task || task.id !== reply.id) return;
      this.busy.delete(thread);
      thread.unref();
      this.idle.push(thread);
      if (reply.error !== undefined) task.reject(new ZkError('invalid_signature', reply.error));
      else task.resolve(reply);
      this.dispatch();
    });
    const lost = (error: Error) => {
      const task = this.busy.get(thread);
      this.busy.delete(thread);
      const at = this.idle.indexOf(thread);
      if (at >= 0) this.idle.splice(at, 1);
      this.started--;
      task?.reject(
        new ZkError('invalid_signature', `the signature thread stopped: ${error.message}`, { cause: error }),
      );
      if (!this.closed) this.dispatch();
    };
    thread.on('error', lost);
    thread.on('exit', (code) => {
      if (this.busy.has(thread) || this.idle.includes(thread)) lost(new Error(`exit code ${code}`));
    });
    return thread;
  }
}

let shared: BabyJubPool | undefined;

/** The process's pool, made on first use: a zk worker and the coordinator in one process share it. */
export function babyJubPool(): BabyJubPool {
  shared ??= new BabyJubPool();
  return shared;
}
