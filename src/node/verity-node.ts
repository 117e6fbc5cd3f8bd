import { Coordinator } from '../coordinator/coordinator.js';
import { JobQueue } from '../coordinator/job-queue.js';
import { registrationCapsFromEnv } from '../coordinator/registration-caps.js';
import { Engine, isTerminal } from '../engine/engine.js';
import { Sweeper } from '../engine/sweeper.js';
import { defaultExecutors } from '../executors/defaults.js';
import type { Executor } from '../executors/executor.js';
import { ExecutorRegistry } from '../executors/registry.js';
import type { ExecutionRecord } from '../store/records.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { localWorkerClient } from '../worker/local-client.js';
import { Worker } from '../worker/worker.js';
import { join } from 'node:path';
import type { LocalSigner } from '../keys/local-signer.js';
import { loadOrCreateSigner } from '../keys/local-signer.js';
import type { BlobConfig, BlobSetting } from '../blobs/blob-config.js';
import { openBlobStore, resolveBlobConfig } from '../blobs/blob-config.js';
import type { BlobStore } from '../blobs/blob-store.js';
import { installNodeCrypto } from '../keys/node-crypto.js';
import { ReceiptIssuer } from '../receipts/issuer.js';
import { TransparencyLog } from '../tlog/log.js';
import { availableParallelism, hostname } from 'node:os';
import { loadOrCreateZkSigner, zkKeyFileOf } from '../keys/zk-key-file.js';
import type { ZkSigner } from '../zk/babyjub.js';
import { DEFAULT_ZK_CONFIG, checkZkConfig } from '../attest/zk/circuit.js';
import type { ZkConfig } from '../attest/zk/circuit.js';
import { ZkError } from '../attest/zk/errors.js';
import { ProverPool } from '../zk/prover/prover-pool.js';
import { ProvingService } from '../zk/prover/proving-service.js';
import { readArtifacts } from '../zk/setup/artifacts.js';
import { ZkIssuer } from '../zk/zk-issuer.js';
import { fetchZkArtifacts } from '../zk/bucket/fetch.js';
import { checkManifestDigest } from '../zk/bucket/manifest.js';
import type { Bundle, ZkBundle } from '../attest/bundle.js';
import { buildBundle, buildZkBundle } from '../receipts/bundle.js';
import { ProcessEvaluator } from '../expressions/node/process-evaluator.js';
import { MarketSettler } from '../market/settlement.js';
import { SettlementEvents } from '../market/settlement-events.js';
import { DEFAULT_EXPRESSION_LIMITS } from '../expressions/evaluator.js';
import { readEnv } from '../env.js';

export interface NodeOptions {
  /** Local state: the SQLite database (unless databaseUrl is set). Default: ./.verity */
  dataDir: string;
  /**
   * Where the `file` blob store keeps blobs (images, trained models, large outputs). Default:
   * VERITY_BLOB_DIR, else <dataDir>/blobs. Replicas with the file store must share it (a shared volume).
   */
  blobDir: string;
  /**
   * Which blob store keeps blob bytes (docs/blobs.md): `file` (blobDir), `postgres` (the store's PostgreSQL
   * database) or `s3://<bucket>/<prefix>` (an S3-compatible bucket), or the same as an object with the S3
   * details. Given as a setting; resolved, every default filled in. Default: VERITY_BLOBS, else file.
   */
  blobs: BlobConfig;
  /** `postgres://…` to share state with other nodes. Default: VERITY_DATABASE_URL, else SQLite. */
  databaseUrl: string | undefined;
  /** Job slots of the in-process worker; 0 runs no worker here. Default: 16. */
  workers: number;
  /** Executors of the in-process worker. Default: JSONata and the builtin/* models. */
  executors: Executor[];
  /** Lease of a claimed job without heartbeat. Default: 15 s. */
  leaseMs: number;
  /** Period of the lease and deadline sweep. Default: 250 ms. */
  sweepIntervalMs: number;
  /**
   * How often the sweeper looks for decisions no process is making (one that stopped between a commit and
   * its decision) and makes them; a decision that fails three looks in a row fails its execution with
   * `advance_failed`. Default: 5 s.
   */
  decisionSweepMs: number;
  /**
   * How long an idle worker slot waits before asking the store again, for work queued by other processes.
   * Default: 500 ms on SQLite; 2 s on PostgreSQL, whose NOTIFY wakes idle slots at once (this is the safety net).
   */
  pollMs: number;
  sqliteSynchronous: 'normal' | 'full';
  /** The coordinator's signing key (receipts, log checkpoints). Default: <dataDir>/keys/coordinator.key, or VERITY_COORDINATOR_KEY_FILE. */
  coordinatorKeyFile: string;
  /**
   * Where the in-process worker's executors may read files that inputs name (an OCR step's `image` path).
   * Default: none, so a path is refused: a server's worker must not open its own files for a client. Only
   * a local CLI run, where the user owns every file, sets it (to the data directory).
   */
  inputFileDir: string | undefined;
  /** The in-process worker's signing key (attestations). Default: <dataDir>/keys/worker.key. */
  workerKeyFile: string;
  /** The transparency log's name, used the first time a node starts on a store. Default: VERITY_LOG_ORIGIN, else a random name. */
  logOrigin: string | undefined;
  onError: (error: unknown, context?: Record<string, unknown>) => void;
  /**
   * Attest every result and issue receipts. Default: true. Off only to measure what they cost (bench/):
   * workers then sign nothing, results are taken on trust and executions get no receipt.
   */
  attest: boolean;
  /**
   * Where `verity zk setup` put the circuit artifacts; with zkArtifacts, where the ones fetched from the
   * blob store are kept. Default: VERITY_ZK_DIR, else <dataDir>/zk.
   */
  zkDir: string;
  /**
   * Take the zk artifacts from the blob store: the digest of the manifest `verity zk publish` printed
   * (`sha256:<hex>`). When the node opens, what zkDir lacks or holds differently is fetched and checked
   * against the manifest; a changed artifact stops it. Default: VERITY_ZK_ARTIFACTS, else none (zkDir only).
   */
  zkArtifacts: string | undefined;
  /** Which circuit proves zk executions. Default: VERITY_ZK_BATCH_SIZE and VERITY_ZK_REGISTRY_DEPTH, else 8 and 10. */
  zkConfig: ZkConfig;
  /** Prover processes on this node (each one batch at a time); 0 proves nothing here. Default: VERITY_PROVERS, else min(2, cores). */
  provers: number;
  /**
   * How long one of a workflow's conditions, input mappings or outputs may evaluate (they run in a
   * sandbox process that is stopped there). Default: VERITY_EXPRESSION_TIMEOUT_MS, else 1,000 ms.
   */
  expressionTimeoutMs: number;
  /** The heap of each sandbox process that evaluates expressions. Default: VERITY_EXPRESSION_MEMORY_MB, else 256 MiB. */
  expressionMemoryMb: number;
}

/** What NodeOptions.blobs takes before it is resolved: a setting (`'s3://bucket/prefix'`) or a resolved config. */
export type NodeOptionsInput = Omit<Partial<NodeOptions>, 'blobs'> & { blobs?: BlobSetting | BlobConfig };

export function resolveNodeOptions(options: NodeOptionsInput = {}): NodeOptions {
  const env = readEnv();
  const dataDir = options.dataDir ?? env.VERITY_DATA_DIR ?? '.verity';
  const blobDir = options.blobDir ?? env.VERITY_BLOB_DIR ?? join(dataDir, 'blobs');
  return {
    dataDir,
    databaseUrl: options.databaseUrl ?? env.VERITY_DATABASE_URL,
    workers: options.workers ?? 16,
    executors: options.executors ?? defaultExecutors(),
    leaseMs: options.leaseMs ?? env.VERITY_LEASE_MS ?? 15_000,
    sweepIntervalMs: options.sweepIntervalMs ?? 250,
    decisionSweepMs: options.decisionSweepMs ?? 5_000,
    // On PostgreSQL idle workers are woken by other replicas' NOTIFY; the poll is only the safety net.
    pollMs: options.pollMs ?? ((options.databaseUrl ?? env.VERITY_DATABASE_URL) ? 2000 : 500),
    sqliteSynchronous: options.sqliteSynchronous ?? env.VERITY_SQLITE_SYNC ?? 'normal',
    coordinatorKeyFile:
      options.coordinatorKeyFile ?? env.VERITY_COORDINATOR_KEY_FILE ?? join(dataDir, 'keys', 'coordinator.key'),
    workerKeyFile: options.workerKeyFile ?? join(dataDir, 'keys', 'worker.key'),
    inputFileDir: options.inputFileDir,
    blobDir,
    blobs: resolveBlobConfig(options.blobs, { env, blobDir }),
    logOrigin: options.logOrigin ?? env.VERITY_LOG_ORIGIN,
    onError: options.onError ?? (() => undefined),
    attest: options.attest ?? true,
    zkDir: options.zkDir ?? env.VERITY_ZK_DIR ?? join(dataDir, 'zk'),
    zkArtifacts: checkManifestSetting(options.zkArtifacts ?? env.VERITY_ZK_ARTIFACTS),
    zkConfig: options.zkConfig ?? {
      batchSize: env.VERITY_ZK_BATCH_SIZE ?? DEFAULT_ZK_CONFIG.batchSize,
      registryDepth: env.VERITY_ZK_REGISTRY_DEPTH ?? DEFAULT_ZK_CONFIG.registryDepth,
    },
    provers: options.provers ?? env.VERITY_PROVERS ?? Math.max(1, Math.min(2, availableParallelism())),
    expressionTimeoutMs:
      options.expressionTimeoutMs ?? env.VERITY_EXPRESSION_TIMEOUT_MS ?? DEFAULT_EXPRESSION_LIMITS.timeoutMs,
    expressionMemoryMb:
      options.expressionMemoryMb ?? env.VERITY_EXPRESSION_MEMORY_MB ?? DEFAULT_EXPRESSION_LIMITS.memoryMb,
  };
}

function checkManifestSetting(value: string | undefined): string | undefined {
  return value === undefined ? undefined : checkManifestDigest(value);
}

/**
 * The zk artifacts, when `verity zk setup` made them for the configured circuit (or they were fetched from
 * the blob store); else why there are none. Artifacts the settings say to fetch and that cannot be had, or
 * are refused, stop the node: the operator asked for the zk level there.
 */
async function openZk(
  signer: LocalSigner,
  options: NodeOptions,
  blobs: BlobStore,
): Promise<ZkIssuer | { unavailable: string }> {
  if (options.zkArtifacts !== undefined)
    await fetchZkArtifacts(blobs, options.zkArtifacts, options.zkDir, checkZkConfig(options.zkConfig));
  try {
    return new ZkIssuer(signer, await readArtifacts(options.zkDir, checkZkConfig(options.zkConfig)));
  } catch (error) {
    if (error instanceof ZkError) return { unavailable: error.message };
    throw error;
  }
}

/** The principal of a node's in-process workers. API key principals have no ':', so none can take this name. */
export function nodePrincipal(coordinatorKeyId: string): string {
  return `node:${coordinatorKeyId.slice(0, 16)}`;
}

/**
 * One Verity node: the store, the coordinator, the engine, its sweeper and (optionally) an in-process
 * worker. `verity run` and `verity resume` use one; `verity serve` adds the API around one; several
 * nodes on one PostgreSQL database are replicas of each other.
 */
export class VerityNode {
  readonly engine: Engine;
  /** Settlements this process posted (after commit): what metrics count by outcome. */
  readonly settlements = new SettlementEvents();
  readonly coordinator: Coordinator;
  readonly worker: Worker | undefined;
  readonly registry: ExecutorRegistry;
  readonly blobs: BlobStore;
  /** The sandboxes of this node's expressions: the engine's (decisions, results) and the in-process worker's (steps). */
  readonly expressions: ProcessEvaluator;
  private readonly workerExpressions: ProcessEvaluator;
  private readonly sweeper: Sweeper;
  /** Makes the proofs of zk receipts; absent without a zk setup or with no provers. */
  readonly proving: ProvingService | undefined;
  private started = false;

  private constructor(
    readonly store: Store,
    readonly options: NodeOptions,
    /** The coordinator's key: it signs receipts and log checkpoints. */
    readonly coordinatorSigner: LocalSigner,
    readonly log: TransparencyLog,
    workerSigner: LocalSigner | undefined,
    workerZkSigner: ZkSigner | undefined,
    /** The zk level's issuer, or why this node has none. */
    readonly zk: ZkIssuer | { unavailable: string },
    blobs: BlobStore,
  ) {
    this.blobs = blobs;
    const zkIssuer = zk instanceof ZkIssuer ? zk : undefined;
    // Two sandboxes, so that a publisher's slow step transform never delays another execution's decisions.
    this.expressions = new ProcessEvaluator({
      name: 'engine expression evaluator',
      timeoutMs: options.expressionTimeoutMs,
      memoryMb: options.expressionMemoryMb,
      maxQueue: 100_000,
    });
    this.workerExpressions = new ProcessEvaluator({
      name: 'worker expression evaluator',
      memoryMb: options.expressionMemoryMb,
      maxTimeoutMs: 10 * 60_000,
    });
    // The engine queues and cancels jobs through the queue; the coordinator, which checks what workers
    // report, hands each job's outcome to the engine inside the transaction that records it.
    const queue = new JobQueue();
    this.engine = new Engine(store, queue, {
      receipts: options.attest ? new ReceiptIssuer(coordinatorSigner, log, zkIssuer) : undefined,
      ...(!zkIssuer && { zkUnavailable: 'unavailable' in zk ? zk.unavailable : 'no zk setup' }),
      evaluator: this.expressions,
      blobs: this.blobs,
      onError: options.onError,
      // Runs through listings settle from their receipt, in the transaction that issues it.
      ...(options.attest && {
        hooks: new MarketSettler(coordinatorSigner, log, this.settlements),
      }),
    });
    this.coordinator = new Coordinator(store, queue, this.engine, {
      leaseMs: options.leaseMs,
      requireAttestations: options.attest,
      blobs: this.blobs,
      // The in-process workers of a node are one principal, named after the node's coordinator key.
      localPrincipal: nodePrincipal(coordinatorSigner.keyId),
      caps: registrationCapsFromEnv(),
    });
    if (zkIssuer && options.provers > 0) {
      this.proving = new ProvingService(store, zkIssuer, new ProverPool(options.provers), this.coordinator.zkLeaves, {
        nodeId: `${hostname()}:${process.pid}`,
        onError: (error, context) => options.onError(error, context),
      });
      zkIssuer.onPending = () => this.proving?.poke();
      // A checked leaf signature may be the last one a proof waits for.
      this.coordinator.zkLeaves.onChecked = () => this.proving?.poke();
    }
    this.coordinator.zkLeaves.onError = (error, context) => options.onError(error, context);
    this.engine.events.setMaxListeners(0);
    this.sweeper = new Sweeper(store, this.engine, this.coordinator, {
      intervalMs: options.sweepIntervalMs,
      decisionsEveryMs: options.decisionSweepMs,
      now: Date.now,
      onError: (error) => options.onError(error, { during: 'sweep' }),
    });
    this.registry = new ExecutorRegistry(options.executors);
    this.worker =
      workerSigner && options.workers > 0
        ? new Worker(localWorkerClient(this.coordinator, this.blobs, store), this.registry, {
            ...(options.inputFileDir !== undefined && { inputFileDir: options.inputFileDir }),
            signer: options.attest ? workerSigner : undefined,
            expressions: this.workerExpressions,
            ...(workerZkSigner && { zkSigner: workerZkSigner }),
            concurrency: options.workers,
            pollMs: options.pollMs,
            onError: options.onError,
          })
        : undefined;
  }

  static async open(options: NodeOptionsInput = {}): Promise<VerityNode> {
    installNodeCrypto();
    const resolved = resolveNodeOptions(options);
    const coordinatorSigner = loadOrCreateSigner(resolved.coordinatorKeyFile);
    const workerSigner = resolved.workers > 0 ? loadOrCreateSigner(resolved.workerKeyFile) : undefined;
    const workerZkSigner = resolved.workers > 0 ? loadOrCreateZkSigner(zkKeyFileOf(resolved.workerKeyFile)) : undefined;
    const store = await openStore({
      dataDir: resolved.dataDir,
      databaseUrl: resolved.databaseUrl,
      sqliteSynchronous: resolved.sqliteSynchronous,
    });
    let blobs: BlobStore | undefined;
    try {
      blobs = await openBlobStore(resolved.blobs, {
        store,
        databaseUrl: resolved.databaseUrl,
        dataDir: resolved.dataDir,
      });
      await store.transaction((tx) =>
        tx.putKey({
          keyId: coordinatorSigner.keyId,
          role: 'coordinator',
          publicKeyPem: coordinatorSigner.publicKeyPem,
          createdAt: Date.now(),
        }),
      );
      const log = await TransparencyLog.open(store, coordinatorSigner, resolved.logOrigin);
      const zk = await openZk(coordinatorSigner, resolved, blobs);
      return new VerityNode(store, resolved, coordinatorSigner, log, workerSigner, workerZkSigner, zk, blobs);
    } catch (error) {
      await blobs?.close();
      await store.close();
      throw error;
    }
  }

  /**
   * An execution's receipt bundle (docs/receipts.md): with `includeData`, what level full needs; with
   * `zkOnly`, the zk-only bundle instead. Finished proofs travel with their circuit's verification key.
   */
  bundle(executionId: string, options: { includeData?: boolean; zkOnly?: boolean } = {}): Promise<Bundle | ZkBundle> {
    const zkVerificationKeys =
      this.zk instanceof ZkIssuer
        ? new Map([[this.zk.artifacts.circuitId, this.zk.artifacts.verificationKey]])
        : new Map<string, unknown>();
    if (options.zkOnly) return buildZkBundle(this.store, this.log, executionId, { zkVerificationKeys });
    return buildBundle(this.store, this.log, executionId, {
      includeData: options.includeData === true,
      blobs: this.blobs,
      zkVerificationKeys,
    });
  }

  /** Recovers what a crashed process left behind, then starts sweeping and working. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.coordinator.reapDeadLocalWorkers();
    // Uploads a killed process left half-written in the blob store.
    await this.blobs.removeStaleUploads();
    await this.sweeper.sweep();
    await this.engine.recover();
    this.sweeper.start();
    // Jobs queued by other processes on the same database wake this one's idle workers (and the remote
    // workers long-polling it) at once, where the database can say so.
    this.unlisten = this.store.onJobsQueued?.((availableAt) =>
      this.coordinator.notifier.jobsQueuedAt(availableAt, Date.now()),
    );
    await this.worker?.start();
    this.proving?.start();
  }

  private unlisten: (() => void) | undefined;

  /** Stops the node once: a second call (a signal handler and a finally block, say) waits for the first. */
  stop(drainMs = 10_000): Promise<void> {
    this.stopping ??= this.stopOnce(drainMs);
    return this.stopping;
  }

  private stopping: Promise<void> | undefined;

  private async stopOnce(drainMs: number): Promise<void> {
    if (this.started) {
      this.started = false;
      this.unlisten?.();
      await this.worker?.stop(drainMs);
      await this.proving?.stop();
      await this.sweeper.stop();
      await this.engine.settled();
      this.coordinator.notifier.close();
    }
    await this.expressions.close();
    await this.workerExpressions.close();
    await this.blobs.close();
    await this.store.close();
  }

  /**
   * Resolves with the execution once it has ended: at once on changes made in this process, and by
   * polling (every `pollMs`) for changes made by other processes sharing the store.
   */
  waitFor(executionId: string, pollMs = 500): Promise<ExecutionRecord> {
    return new Promise<ExecutionRecord>((resolve, reject) => {
      let done = false;
      const check = () => {
        this.store.read
          .getExecution(executionId)
          .then((execution) => {
            if (done) return;
            if (!execution) throw new Error(`no execution ${executionId}`);
            if (!isTerminal(execution)) return;
            done = true;
            clearInterval(timer);
            this.engine.events.off('change', onLocal);
            resolve(execution);
          })
          .catch((error: unknown) => {
            done = true;
            clearInterval(timer);
            this.engine.events.off('change', onLocal);
            reject(error instanceof Error ? error : new Error(String(error)));
          });
      };
      // Re-read on the event rather than trust it: it carries the state as of its own commit.
      const onLocal = (execution: ExecutionRecord) => {
        if (execution.id === executionId && isTerminal(execution)) check();
      };
      // Listen first, then look: an execution that ends in between is still seen.
      this.engine.events.on('change', onLocal);
      const timer = setInterval(check, pollMs);
      check();
    });
  }

  /** Every execution that is still running in this store. */
  async unfinished(): Promise<ExecutionRecord[]> {
    return this.store.read.listExecutions({ status: ['running'], limit: 10_000 });
  }
}
