import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { buildServer } from '../../api/server.js';
import { parseBlobSetting } from '../../blobs/blob-config.js';
import type { BlobSetting } from '../../blobs/blob-config.js';
import { readEnv } from '../../env.js';
import { ExecutorRegistry } from '../../executors/registry.js';
import { loadOrCreateZkSigner, zkKeyFileOf } from '../../keys/zk-key-file.js';
import { loadOrCreateSigner } from '../../keys/local-signer.js';
import { resolveNodeOptions } from '../../node/verity-node.js';
import { openNode, withStoreOptions } from '../context.js';
import { workerExecutors } from '../models-config.js';
import type { StoreFlags } from '../context.js';
import { CliError } from '../errors.js';
import { parseNonNegativeInt } from '../inputs.js';
import { Worker } from '../../worker/worker.js';
import { httpWorkerClient, parseServerList } from '../../worker/http-client.js';
import { checkExecutors, loadExecutorsModule } from '../../worker/sdk/load-executors.js';
import { WorkerSdkError } from '../../worker/sdk/errors.js';
import type { Executor } from '../../executors/executor.js';

const MODELS_CONFIG = () =>
  new Option(
    '--models-config <file>',
    'hosted models this worker serves: an OpenAI-compatible server (see examples/llm-summary), and the URLs builtin/http steps may call (docs/http-steps.md)',
  ).env('VERITY_MODELS_CONFIG');

interface ServeFlags extends StoreFlags {
  blobs?: string;
  s3Endpoint?: string;
  s3Region?: string;
  s3ForcePathStyle?: 'true' | 'false';
  port: string;
  host: string;
  workers?: string;
  logLevel: string;
  drainMs: string;
  leaseMs?: string;
  modelsConfig?: string;
  zkArtifacts?: string;
}

/**
 * The blob store the flags name. Credentials are not flags (a command line is visible to every user of the
 * machine): the AWS SDK reads them from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile or a role.
 */
function blobSettingOf(blobs: string, flags: ServeFlags): BlobSetting {
  const setting = parseBlobSetting(blobs);
  if (typeof setting === 'string' || setting.kind !== 's3') return setting;
  return {
    ...setting,
    ...(flags.s3Endpoint !== undefined && { endpoint: flags.s3Endpoint }),
    ...(flags.s3Region !== undefined && { region: flags.s3Region }),
    ...(flags.s3ForcePathStyle !== undefined && { forcePathStyle: flags.s3ForcePathStyle === 'true' }),
  };
}

export function registerServe(program: Command): void {
  withStoreOptions(
    program
      .command('serve')
      .description('run the server: the REST API, the engine, the coordinator and in-process workers')
      .option('--port <port>', 'port to listen on', '8080')
      .option('--host <host>', 'address to listen on', '127.0.0.1')
      .option('--workers <n>', 'job slots of the in-process worker (0 for none); default: the number of cores')
      .addOption(
        new Option('--log-level <level>', 'log level')
          .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
          .default('info'),
      )
      .option('--drain-ms <ms>', 'on SIGTERM, how long running steps may take to finish', '10000')
      .addOption(
        new Option(
          '--lease-ms <ms>',
          "a job's lease: how long a worker that stops heartbeating keeps it (default 15000)",
        ).env('VERITY_LEASE_MS'),
      )
      .addOption(MODELS_CONFIG())
      .addOption(
        new Option(
          '--blobs <store>',
          'where blob bytes live: file (a directory, the default), postgres (the database) or s3://<bucket>/<prefix>; replicas need postgres or s3 unless they share a volume (docs/blobs.md)',
        ).env('VERITY_BLOBS'),
      )
      .addOption(
        new Option('--s3-endpoint <url>', 'the S3-compatible server of an s3:// blob store (default: AWS)').env(
          'VERITY_S3_ENDPOINT',
        ),
      )
      .addOption(
        new Option(
          '--s3-region <region>',
          'the region of an s3:// blob store (default: AWS_REGION, else us-east-1)',
        ).env('VERITY_S3_REGION'),
      )
      .addOption(
        new Option(
          '--s3-force-path-style <bool>',
          "the bucket in the URL's path, not its host name (default: true with --s3-endpoint)",
        )
          .choices(['true', 'false'])
          .env('VERITY_S3_FORCE_PATH_STYLE'),
      )
      .addOption(
        new Option(
          '--zk-artifacts <manifest>',
          'take the zk artifacts from the blob store: the manifest digest `verity zk publish` printed (sha256:…); fetched into the zk directory and checked (docs/zk.md)',
        ).env('VERITY_ZK_ARTIFACTS'),
      ),
  ).action(async (flags: ServeFlags) => {
    // Every VERITY_* variable is checked before anything starts, and a bad one is named as itself (not as
    // the flag it stands in for): the server refuses to start rather than run on a default unnoticed.
    readEnv();
    const port = parseNonNegativeInt('--port', flags.port);
    const workers =
      flags.workers === undefined ? availableParallelism() : parseNonNegativeInt('--workers', flags.workers);
    const drainMs = parseNonNegativeInt('--drain-ms', flags.drainMs);
    const leaseMs = flags.leaseMs === undefined ? undefined : parseNonNegativeInt('--lease-ms', flags.leaseMs);
    if (leaseMs !== undefined && leaseMs < 1000)
      throw new CliError('usage', '--lease-ms must be at least 1000: a worker heartbeats every third of it');
    const node = await openNode(flags, workers, (line) => console.error(line), {
      ...(leaseMs !== undefined && { leaseMs }),
      ...(flags.blobs !== undefined && { blobs: blobSettingOf(flags.blobs, flags) }),
      ...(flags.zkArtifacts !== undefined && { zkArtifacts: flags.zkArtifacts }),
    });
    await node.start();
    const { app, context, shutdown } = await buildServer(node, {
      logger: flags.logLevel === 'silent' ? false : { level: flags.logLevel },
    });
    const adminToken = await context.keys.ensureAdmin(
      resolveNodeOptions(flags.dataDir !== undefined ? { dataDir: flags.dataDir } : {}).dataDir,
    );
    if (adminToken) {
      console.error(
        `created the admin API key (shown once; also in ${join(resolveNodeOptions(flags.dataDir !== undefined ? { dataDir: flags.dataDir } : {}).dataDir, 'admin.key')}):\n${adminToken}`,
      );
    }
    try {
      await app.listen({ port, host: flags.host });
    } catch (error) {
      await node.stop(0);
      throw new CliError('failed', `cannot listen on ${flags.host}:${port}: ${(error as Error).message}`);
    }
    const address = app.server.address();
    const url =
      typeof address === 'object' && address ? `http://${flags.host}:${address.port}` : `http://${flags.host}:${port}`;
    console.error(
      `verity is serving on ${url} (API docs: ${url}/docs; store: ${node.store.location}; blobs: ${node.blobs.kind} ${node.blobs.location}; ${workers} worker slots)`,
    );
    console.error(
      'unavailable' in node.zk
        ? `verification level zk: off (${node.zk.unavailable})`
        : `verification level zk: circuit ${node.zk.artifacts.circuitId} (development ceremony), ${node.options.provers} prover processes${node.options.zkArtifacts ? `; artifacts from the blob store (manifest ${node.options.zkArtifacts}) in ${node.options.zkDir}` : ''}`,
    );
    await new Promise<void>((resolve) => {
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) process.exit(130);
        stopping = true;
        console.error(
          `${signal}: stopping: no new work; running steps get ${drainMs} ms to finish, the rest go back to the queue`,
        );
        shutdown.abort();
        app
          .close()
          .then(() => node.stop(drainMs))
          .catch((error: unknown) => console.error(`error while stopping: ${(error as Error).message}`))
          .finally(resolve);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
  });

  program
    .command('worker')
    .description('run a remote worker: claim jobs from a server over HTTP, run them, attest their results')
    .addOption(
      new Option(
        '--server <urls>',
        'the Verity server, or its replicas comma-separated (URL1,URL2): the worker moves on to the next when one stops answering',
      )
        .env('VERITY_SERVER')
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--key <api-key>', 'an API key with the worker role').env('VERITY_API_KEY').makeOptionMandatory(),
    )
    .option(
      '--capabilities <list>',
      'comma-separated step types and models this worker runs (default: everything it has)',
    )
    .option('--concurrency <n>', 'jobs at once', '4')
    .option('--name <name>', 'how the worker shows in the server', `${hostname()}:${process.pid}`)
    .addOption(
      new Option('--data-dir <dir>', "where the worker's key lives (keys/worker.key)")
        .env('VERITY_DATA_DIR')
        .default('.verity-worker'),
    )
    .addOption(MODELS_CONFIG())
    .option(
      '--executors <module>',
      'a JavaScript module exporting your own executors (defineExecutor from verity/worker); repeat for more',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--debug', 'print errors as they happen')
    .action(
      async (flags: {
        server: string;
        executors?: string[];
        key: string;
        capabilities?: string;
        concurrency: string;
        name: string;
        dataDir: string;
        modelsConfig?: string;
        debug?: boolean;
      }) => {
        const concurrency = parseNonNegativeInt('--concurrency', flags.concurrency);
        if (concurrency < 1) throw new CliError('usage', '--concurrency must be at least 1');
        let servers: string[];
        try {
          servers = parseServerList(flags.server, '--server');
        } catch (error) {
          throw new CliError('usage', (error as Error).message);
        }
        const signer = loadOrCreateSigner(join(flags.dataDir, 'keys', 'worker.key'));
        // Its Baby Jubjub key (keys/worker.zk.key): it signs step leaves of executions at verification level zk.
        const zkSigner = loadOrCreateZkSigner(zkKeyFileOf(join(flags.dataDir, 'keys', 'worker.key')));
        const executors: Executor[] = workerExecutors(flags.modelsConfig);
        try {
          for (const module of flags.executors ?? []) executors.push(...(await loadExecutorsModule(module)));
          checkExecutors(executors);
        } catch (error) {
          if (error instanceof WorkerSdkError) throw new CliError('usage', `--executors ${error.message}`);
          throw error;
        }
        const registry = new ExecutorRegistry(executors);
        const wanted = flags.capabilities
          ?.split(',')
          .map((c) => c.trim())
          .filter(Boolean);
        if (wanted) {
          const { stepTypes, models } = registry.capabilities;
          const unknown = wanted.filter((w) => !(stepTypes as string[]).includes(w) && !models.includes(w));
          if (unknown.length > 0)
            throw new CliError(
              'usage',
              `--capabilities: this worker cannot run ${unknown.join(', ')}; it has ${[...stepTypes, ...models].join(', ')}`,
            );
        }
        const worker = new Worker(
          httpWorkerClient(servers, flags.key, signer, {
            // Rare and worth knowing: a replica stopped answering this worker.
            onFailover: (from, to, reason) =>
              console.error(`worker: ${from} did not answer (${reason}); now using ${to}`),
            onPause: (ms, reason) =>
              console.error(`worker: no server answered (${reason}); asking them all again in ${ms} ms`),
          }),
          wanted ? registry.restrictedTo(wanted) : registry,
          {
            signer,
            zkSigner,
            concurrency,
            name: flags.name,
            pollMs: 20_000,
            onError: (error, context) => {
              if (flags.debug) console.error(`worker: ${(error as Error).message} ${JSON.stringify(context)}`);
            },
          },
        );
        const workerId = await worker.start();
        console.error(
          `worker ${workerId} (key ${signer.keyId.slice(0, 16)}…) serving ${servers.join(', ')} with ${concurrency} slots`,
        );
        await new Promise<void>((resolve) => {
          const stop = () => {
            console.error('stopping: running jobs get 10 s to finish');
            worker
              .stop(10_000)
              .catch((error: unknown) => console.error(`error while stopping: ${(error as Error).message}`))
              .finally(resolve);
          };
          process.once('SIGTERM', stop);
          process.once('SIGINT', stop);
        });
      },
    );
}
