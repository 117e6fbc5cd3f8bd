import pg from 'pg';
import type { ClientConfig, Pool } from 'pg';

/** The channel on which committed job inserts are announced; the payload is `<schema> <availableAt>`. */
export const JOBS_QUEUED_CHANNEL = 'verity_jobs';

/**
 * A statement trigger on jobs: once per INSERT statement that queued jobs, NOTIFY with the earliest
 * `available_at` among them. PostgreSQL delivers a NOTIFY only when its transaction commits, and folds
 * identical ones of one transaction into one, so a listener hears of work that exists, once, and no
 * statement of the step path is added for it. The schema is in the payload because schemas of one
 * database share their channels.
 */
export const JOBS_QUEUED_NOTICE_DDL: readonly string[] = [
  `CREATE FUNCTION verity_jobs_queued() RETURNS trigger LANGUAGE plpgsql AS $fn$
  DECLARE first_at BIGINT;
  BEGIN
    SELECT MIN(available_at) INTO first_at FROM queued_jobs WHERE status = 'queued';
    IF first_at IS NOT NULL THEN
      PERFORM pg_notify('${JOBS_QUEUED_CHANNEL}', current_schema() || ' ' || first_at);
    END IF;
    RETURN NULL;
  END
  $fn$`,
  `CREATE TRIGGER jobs_queued_notice AFTER INSERT ON jobs REFERENCING NEW TABLE AS queued_jobs
     FOR EACH STATEMENT EXECUTE FUNCTION verity_jobs_queued()`,
];

const RECONNECT_MS = 1000;

/**
 * One LISTEN connection per store, opened on the first subscriber. Notices sent by this store's own
 * connections are dropped: this process already woke its workers after its commit, and a second wake-up
 * would only send an idle worker to claim for nothing. A lost connection is re-opened after a second;
 * meanwhile workers find work by polling, as they would without notices.
 */
export class JobsQueuedListener {
  private readonly listeners = new Set<(availableAt: number) => void>();
  private readonly ownConnections = new Set<number>();
  private client: pg.Client | undefined;
  private schema: string | undefined;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly config: ClientConfig,
    pools: readonly Pool[],
  ) {
    for (const pool of pools) {
      pool.on('connect', (client) => this.ownConnections.add(processIdOf(client)));
      pool.on('remove', (client) => this.ownConnections.delete(processIdOf(client)));
    }
  }

  subscribe(listener: (availableAt: number) => void): () => void {
    this.listeners.add(listener);
    if (!this.client && !this.retry && !this.closed) void this.connect();
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.config);
    this.client = client;
    const lost = () => {
      if (this.client !== client) return;
      this.client = undefined;
      void client.end().catch(() => undefined);
      if (!this.closed && this.listeners.size > 0) {
        this.retry = setTimeout(() => {
          this.retry = undefined;
          void this.connect();
        }, RECONNECT_MS);
        this.retry.unref();
      }
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (message) => {
      if (message.channel !== JOBS_QUEUED_CHANNEL || this.ownConnections.has(message.processId)) return;
      const [schema, at] = (message.payload ?? '').split(' ');
      const availableAt = Number(at);
      if (schema !== this.schema || !Number.isSafeInteger(availableAt)) return;
      for (const listener of this.listeners) listener(availableAt);
    });
    try {
      await client.connect();
      this.schema = (await client.query<{ schema: string }>('SELECT current_schema() AS schema')).rows[0]?.schema;
      await client.query(`LISTEN ${JOBS_QUEUED_CHANNEL}`);
      if (this.closed) await client.end();
    } catch {
      lost();
    }
  }
}

/** node-postgres sets it from the server's BackendKeyData when the connection opens. */
function processIdOf(client: unknown): number {
  return (client as { processID: number }).processID;
}
