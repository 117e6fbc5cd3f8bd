import pg from 'pg';

/**
 * PostgreSQL for tests: the machine's server (VERITY_TEST_DATABASE_URL, default postgres://root@127.0.0.1:5432/test).
 * Each test gets its own schema, dropped afterwards. Under CI=true PostgreSQL is required: a missing server
 * fails the run instead of skipping the PostgreSQL half of the suite.
 */
export const POSTGRES_URL = process.env.VERITY_TEST_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';

let available: boolean | undefined;

export async function postgresAvailable(): Promise<boolean> {
  if (available !== undefined) return available;
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    available = true;
  } catch (error) {
    if (process.env.CI === 'true') {
      throw new Error(
        `PostgreSQL is required under CI=true but ${POSTGRES_URL} does not answer: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    available = false;
  } finally {
    await client.end().catch(() => undefined);
  }
  return available;
}

/** A fresh schema; returns the database URL that selects it and a function that drops it. */
export function freshSchema(label: string): { url: string; drop: () => Promise<void> } {
  const schema = `t_${label
    .replace(/[^a-z0-9]/gi, '_')
    .toLowerCase()
    .slice(0, 30)}_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  const url = new URL(POSTGRES_URL);
  url.searchParams.set('schema', schema);
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}
