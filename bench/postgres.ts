import pg from 'pg';

/** The PostgreSQL the benchmarks use: VERITY_BENCH_DATABASE_URL, else the local one. */
export const POSTGRES = process.env.VERITY_BENCH_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';

/** Whether it answers: a benchmark without it leaves its PostgreSQL figures out rather than fail. */
export async function postgresUp(): Promise<boolean> {
  const client = new pg.Client({ connectionString: POSTGRES, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
