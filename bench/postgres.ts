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

/**
 * The same database URL with its `schema` parameter given a suffix: a scenario that runs two nodes side by
 * side gives each its own tables, or the two would claim each other's jobs. `dropBenchSchemas` removes them
 * with the scenario's own.
 */
export function schemaVariant(url: string, suffix: string): string {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema');
  if (schema === null) throw new Error(`${url} names no schema to vary`);
  parsed.searchParams.set('schema', `${schema}_${suffix}`);
  return parsed.toString();
}

/** Drops a scenario's schema and its variants (see schemaVariant). */
export async function dropBenchSchemas(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      `SELECT schema_name AS name FROM information_schema.schemata WHERE schema_name = $1 OR schema_name LIKE $2`,
      [schema, `${schema}\\_%`],
    );
    for (const { name } of rows) await client.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
  } finally {
    await client.end();
  }
}
