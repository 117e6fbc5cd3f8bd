import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { liveChildren, spawnVerity, startServer } from '../../bench/soak/processes.js';
import type { Child } from '../../bench/soak/processes.js';
import { freshSchema, POSTGRES_URL } from './postgres.js';

/** One `verity serve` replica process: its data directory, and its port once it had one (to restart on it). */
export interface Replica {
  index: number;
  dataDir: string;
  port: number;
  child: Child | undefined;
  url: string;
  adminKey: string;
}

/** How ReplicaSet.startCustom starts a replica; what is left out is as ReplicaSet.start does it. */
export interface CustomReplicaSpec {
  /** A command that runs it (`ip netns exec NAME`: in a network namespace). */
  wrap?: readonly string[];
  /** The address it listens on. Default: 127.0.0.1. */
  host?: string;
  /** The database URL it is given. Default: the set's schema, directly. */
  databaseUrl?: string;
  /** In-process worker slots. Default: 0. */
  workers?: number;
}

/**
 * Several `verity serve --workers 0` replicas on one PostgreSQL schema, sharing one coordinator key (as
 * docs/operations.md says to deploy them), each with its own data directory. Real processes, from dist/.
 */
export class ReplicaSet {
  readonly replicas: Replica[] = [];
  readonly root = mkdtempSync(join(tmpdir(), 'verity-replicas-'));
  readonly schema: { url: string; drop: () => Promise<void> };
  readonly coordinatorKeyFile = join(this.root, 'coordinator.key');

  constructor(
    label: string,
    readonly leaseMs = 2000,
  ) {
    this.schema = freshSchema(label);
  }

  /** Starts `count` replicas one after the other (the first migrates the schema and makes the key). */
  async start(count: number): Promise<Replica[]> {
    for (let index = 0; index < count; index++) {
      const dataDir = join(this.root, `replica-${index}`);
      mkdirSync(dataDir);
      // Only the first start on the database makes the admin key; the others are handed its file.
      if (index > 0) copyFileSync(join(this.replicas[0]!.dataDir, 'admin.key'), join(dataDir, 'admin.key'));
      const replica: Replica = { index, dataDir, port: 0, child: undefined, url: '', adminKey: '' };
      this.replicas.push(replica);
      await this.restart(replica);
    }
    return this.replicas;
  }

  /** Starts the replica again on its own port (retrying while the port of the killed process is not free yet). */
  async restart(replica: Replica): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const started = await startServer({
          dataDir: replica.dataDir,
          databaseUrl: this.schema.url,
          port: replica.port,
          leaseMs: this.leaseMs,
          coordinatorKeyFile: this.coordinatorKeyFile,
        });
        replica.child = started.child;
        replica.url = started.url;
        replica.adminKey = started.adminKey;
        replica.port = Number(new URL(started.url).port);
        return;
      } catch (error) {
        if (attempt >= 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
      }
    }
  }

  /**
   * One more replica on the same schema and key, started as `spec` says: in a network namespace (`wrap`),
   * listening on `host`, reaching the database at another URL (through a proxy), with in-process worker
   * slots. `--debug`, so that what its workers recover from (a refused report) is on its stderr.
   */
  async startCustom(spec: CustomReplicaSpec): Promise<Replica> {
    const index = this.replicas.length;
    const dataDir = join(this.root, `replica-${index}`);
    mkdirSync(dataDir);
    if (index > 0) copyFileSync(join(this.replicas[0]!.dataDir, 'admin.key'), join(dataDir, 'admin.key'));
    const args = ['serve', '--data-dir', dataDir, '--port', '0', '--workers', String(spec.workers ?? 0)];
    args.push(
      '--log-level',
      'error',
      '--lease-ms',
      String(this.leaseMs),
      '--host',
      spec.host ?? '127.0.0.1',
      '--debug',
    );
    const env = {
      VERITY_DATABASE_URL: spec.databaseUrl ?? this.schema.url,
      VERITY_COORDINATOR_KEY_FILE: this.coordinatorKeyFile,
    };
    const { child, match } = await spawnVerity(args, env, /verity is serving on (http:\/\/\S+?) /, 60_000, spec.wrap);
    const url = match[1]!;
    const replica: Replica = {
      index,
      dataDir,
      port: Number(new URL(url).port),
      child,
      url,
      adminKey: readFileSync(join(dataDir, 'admin.key'), 'utf8').trim(),
    };
    this.replicas.push(replica);
    return replica;
  }

  get urls(): string[] {
    return this.replicas.map((r) => r.url);
  }

  /** A query on the replicas' schema, as the test's own eyes on the database. */
  async query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      const schema = new URL(this.schema.url).searchParams.get('schema')!;
      await client.query(`SET search_path TO ${schema}`);
      return (await client.query<R>(text, values)).rows;
    } finally {
      await client.end();
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.child?.kill9() ?? Promise.resolve()));
    await this.schema.drop().catch(() => undefined);
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** Kills every child this process started and that still runs (for afterAll when a test failed midway). */
export function killAllChildren(): void {
  for (const child of liveChildren) child.kill('SIGKILL');
}
