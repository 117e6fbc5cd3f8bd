import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/api/server.js';
import type { ApiContext, ServerOptions } from '../../src/api/server.js';
import type { NodeOptions } from '../../src/node/verity-node.js';
import type { Role } from '../../src/store/records.js';
import { VerityClient } from '../../src/sdk/client.js';
import { startTestNode } from './node.js';
import type { TestNode } from './node.js';
import { spawnCli } from './cli.js';
import type { CliResult } from './cli.js';

/** A server in this process, on a fresh backend, listening on a free port of 127.0.0.1. */
export interface TestServer {
  url: string;
  app: FastifyInstance;
  context: ApiContext;
  test: TestNode;
  adminKey: string;
  /** A new API key of that role for that principal. */
  key(principal: string, role: Role): Promise<string>;
  client(apiKey: string): VerityClient;
  close(): Promise<void>;
}

export async function startTestServer(
  kind: 'sqlite' | 'postgres' = 'sqlite',
  label = 'server',
  options: { node?: Partial<NodeOptions>; server?: Partial<ServerOptions> } = {},
): Promise<TestServer> {
  const test = await startTestNode(kind, label, options.node);
  const { app, context, shutdown } = await buildServer(test.node, { logger: false, ...options.server });
  const adminKey = (await context.keys.create('admin', 'admin')).token;
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    url,
    app,
    context,
    test,
    adminKey,
    key: async (principal, role) => (await context.keys.create(principal, role)).token,
    client: (apiKey) => new VerityClient({ server: url, apiKey }),
    async close() {
      shutdown.abort();
      await app.close();
      await test.close();
    },
  };
}

/** A running `verity …` child process that announced itself ready on stderr. */
export interface ProcessHandle {
  child: ReturnType<typeof spawnCli>;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM, then wait for it to exit. */
  stop(): Promise<CliResult>;
  /** SIGKILL: no chance to clean up. */
  kill(): Promise<CliResult>;
}

/** Starts a child and resolves once a stderr line matches `ready` (with the match), or rejects if it exits first. */
async function spawnUntil(
  args: string[],
  ready: RegExp,
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<{ handle: ProcessHandle; match: RegExpMatchArray }> {
  const child = spawnCli(args, env);
  let stderr = '';
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`verity ${args[0]} did not become ready in ${timeoutMs} ms:\n${stderr}`)),
      timeoutMs,
    );
    child.stderr!.on('data', (chunk: string) => {
      stderr += chunk;
      const found = stderr.match(ready);
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    void child.output.then((result) => {
      clearTimeout(timer);
      reject(
        new Error(`verity ${args[0]} exited (${result.code ?? result.signal}) before it was ready:\n${result.stderr}`),
      );
    });
  });
  const handle: ProcessHandle = {
    child,
    stderr: () => stderr,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return child.output;
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return child.output;
    },
  };
  return { handle, match };
}

export interface ServerProcess extends ProcessHandle {
  url: string;
  adminKey: string;
}

/** `verity serve` as a real process on a free port. `databaseUrl` for PostgreSQL; `port` to restart on the same one. */
export async function startServerProcess(options: {
  dataDir: string;
  workers?: number;
  databaseUrl?: string;
  port?: number;
  args?: string[];
  env?: Record<string, string>;
}): Promise<ServerProcess> {
  const args = [
    'serve',
    '--data-dir',
    options.dataDir,
    '--port',
    String(options.port ?? 0),
    '--workers',
    String(options.workers ?? 0),
    '--log-level',
    'warn',
    ...(options.args ?? []),
  ];
  const env: Record<string, string> = {
    ...(options.databaseUrl && { VERITY_DATABASE_URL: options.databaseUrl }),
    ...options.env,
  };
  const { handle, match } = await spawnUntil(args, /verity is serving on (http:\/\/\S+?) /, env);
  const adminKey = readFileSync(join(options.dataDir, 'admin.key'), 'utf8').trim();
  return { ...handle, url: match[1]!, adminKey };
}

/** `verity worker` as a real process against a server. */
export async function startWorkerProcess(options: {
  url: string;
  apiKey: string;
  dataDir: string;
  concurrency?: number;
  capabilities?: string;
  name?: string;
}): Promise<ProcessHandle & { workerId: string }> {
  const args = [
    'worker',
    '--server',
    options.url,
    '--key',
    options.apiKey,
    '--data-dir',
    options.dataDir,
    '--concurrency',
    String(options.concurrency ?? 4),
  ];
  if (options.capabilities) args.push('--capabilities', options.capabilities);
  if (options.name) args.push('--name', options.name);
  const { handle, match } = await spawnUntil(args, /worker (\S+) \(key/, {});
  return { ...handle, workerId: match[1]! };
}
