import { hostname } from 'node:os';
import { v7 as uuidv7 } from 'uuid';
import { keyIdOf, publicKeyFromPem, publicKeyToPem } from '../attest/keys.js';
import type { WorkerRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { parseZkPublicKey } from '../zk/babyjub.js';
import type { ZkPublicKey } from '../zk/babyjub.js';
import { CoordinatorError } from './errors.js';
import { isProcessAlive } from './process.js';
import type { WorkerRegistration } from './protocol.js';
import { checkRegistrationCaps } from './registration-caps.js';
import type { RegistrationCaps } from './registration-caps.js';

export interface WorkerRegistryOptions {
  now: () => number;
  /** A worker must register an Ed25519 key, since every result it reports must be attested with it. */
  requireAttestations: boolean;
  /** Whom in-process workers registered without a principal speak for: the node's. */
  localPrincipal: string;
  /** Registration caps on remote workers, per principal. */
  caps: RegistrationCaps;
}

/**
 * The workers a coordinator knows: who they are, the keys they sign results with, whether they are still
 * there. It keeps the keys of the workers it registered itself in memory, so checking their results needs
 * no read of the worker row; other workers (another replica's, remote ones) are read from the store.
 */
export class WorkerRegistry {
  /** A worker id is registered once, with one key, so these never go stale while the worker is active. */
  private readonly localWorkerKeys = new Map<string, string>();
  private readonly zkWorkerKeys = new Map<string, ZkPublicKey>();
  /** This process's in-process workers, as registered: what a job handed to one of them must fit. */
  private readonly inProcess = new Map<string, Pick<WorkerRecord, 'capabilities' | 'principal'>>();

  constructor(
    private readonly store: Store,
    private readonly options: WorkerRegistryOptions,
  ) {}

  async register(registration: WorkerRegistration): Promise<WorkerRecord> {
    const now = this.options.now();
    let keyId: string | undefined;
    if (registration.publicKeyPem !== undefined) {
      try {
        keyId = keyIdOf(publicKeyFromPem(registration.publicKeyPem));
      } catch (error) {
        throw new CoordinatorError('invalid_key', `the worker's public key is unusable: ${(error as Error).message}`, {
          cause: error,
        });
      }
    } else if (this.options.requireAttestations) {
      throw new CoordinatorError(
        'invalid_key',
        'a worker must register its Ed25519 public key: it signs every result with it',
      );
    }
    let zkPublicKey: ZkPublicKey | undefined;
    if (registration.zkPublicKey !== undefined) {
      try {
        zkPublicKey = parseZkPublicKey(registration.zkPublicKey);
      } catch (error) {
        throw new CoordinatorError(
          'invalid_key',
          `the worker's Baby Jubjub key is unusable: ${(error as Error).message}`,
          { cause: error },
        );
      }
    }
    // In-process workers speak for the node unless its code says otherwise; remote ones for their API key.
    const principal =
      registration.principal ?? (registration.kind === 'local' ? this.options.localPrincipal : undefined);
    const record: WorkerRecord = {
      id: registration.id ?? `${registration.kind}-${uuidv7()}`,
      name: registration.name,
      kind: registration.kind,
      host: hostname(),
      pid: process.pid,
      capabilities: registration.capabilities,
      concurrency: registration.concurrency,
      status: 'active',
      startedAt: now,
      lastSeenAt: now,
      ...(keyId !== undefined && { keyId }),
      ...(principal !== undefined && { principal }),
      ...(zkPublicKey && { zkPublicKey }),
    };
    await this.store.transaction(async (tx) => {
      // The caps hold Sybils back: one API key cannot out-vote others or fill the zk registry with keys.
      if (registration.kind === 'remote' && principal !== undefined) {
        await checkRegistrationCaps(tx, this.options.caps, {
          principal,
          ...(keyId !== undefined && { keyId }),
          ...(zkPublicKey && { zkPublicKey }),
        });
      }
      if (zkPublicKey) await tx.registerZkKey(zkPublicKey.x, zkPublicKey.y, record.id, now);
      if (keyId !== undefined) {
        await tx.putKey({
          keyId,
          role: 'worker',
          publicKeyPem: publicKeyToPem(publicKeyFromPem(registration.publicKeyPem!)),
          createdAt: now,
        });
      }
      await tx.upsertWorker(record);
      tx.appendEvents([
        { at: now, type: 'worker.registered', actor: `worker:${record.id}`, data: { name: record.name } },
      ]);
    });
    if (keyId !== undefined && registration.id === undefined) this.localWorkerKeys.set(record.id, keyId);
    if (zkPublicKey) this.zkWorkerKeys.set(record.id, zkPublicKey);
    if (registration.kind === 'local' && registration.id === undefined) {
      this.inProcess.set(record.id, {
        capabilities: record.capabilities,
        ...(principal !== undefined && { principal }),
      });
    }
    return record;
  }

  async seen(workerId: string): Promise<void> {
    await this.store.transaction((tx) => tx.updateWorker(workerId, { lastSeenAt: this.options.now() }));
  }

  /** The worker stops being offered jobs; the jobs it still holds are the coordinator's to take back. */
  async stop(workerId: string, status: 'stopped' | 'dead'): Promise<void> {
    const now = this.options.now();
    this.localWorkerKeys.delete(workerId);
    this.zkWorkerKeys.delete(workerId);
    this.inProcess.delete(workerId);
    await this.store.transaction(async (tx) => {
      await tx.updateWorker(workerId, { status, lastSeenAt: now });
      tx.appendEvents([{ at: now, type: `worker.${status}`, actor: `worker:${workerId}` }]);
    });
  }

  /**
   * Active workers on this host whose process is gone (a kill -9, a crash): they cannot heartbeat. Workers
   * elsewhere are left to lease expiry, since their liveness cannot be checked from here.
   */
  async deadLocalWorkers(): Promise<string[]> {
    const host = hostname();
    const dead = (await this.store.read.listWorkers()).filter(
      (w) =>
        w.status === 'active' &&
        w.kind === 'local' &&
        w.host === host &&
        w.pid !== process.pid &&
        !isProcessAlive(w.pid),
    );
    return dead.map((w) => w.id);
  }

  /**
   * A worker this coordinator registered itself and has not stopped: active for as long as this process
   * runs (another process marks it dead only once this one is gone), so its claims need no read of its row.
   */
  isOwnActive(workerId: string): boolean {
    return this.localWorkerKeys.has(workerId);
  }

  /** One of this process's own in-process workers, while active: its capabilities and principal. */
  inProcessWorker(workerId: string): Pick<WorkerRecord, 'capabilities' | 'principal'> | undefined {
    return this.inProcess.get(workerId);
  }

  /** The id of the Ed25519 key the worker registered, from memory for this coordinator's own workers. */
  async keyIdOf(workerId: string): Promise<string | undefined> {
    return this.localWorkerKeys.get(workerId) ?? (await this.store.read.getWorker(workerId))?.keyId;
  }

  /** The Baby Jubjub key the worker registered, if any. */
  async zkKeyOf(workerId: string): Promise<ZkPublicKey | undefined> {
    return this.zkWorkerKeys.get(workerId) ?? (await this.store.read.getWorker(workerId))?.zkPublicKey;
  }
}

/** A worker may take jobs only while it is registered and active. */
export function checkWorkerActive(worker: WorkerRecord | undefined, workerId: string): void {
  if (!worker)
    throw new CoordinatorError('unknown_worker', `no worker ${workerId}; register first`, { context: { workerId } });
  if (worker.status !== 'active') {
    throw new CoordinatorError(
      'worker_stopped',
      `worker ${workerId} is ${worker.status}; register again to take jobs`,
      {
        context: { workerId },
      },
    );
  }
}
