import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshSchema, postgresAvailable } from './postgres.js';

/** A place for one test's state on one backend: a temporary data directory and, for PostgreSQL, a schema. */
export interface BackendFixture {
  kind: 'sqlite' | 'postgres';
  dataDir: string;
  databaseUrl: string | undefined;
  /** Environment for a child `verity` process that should use this backend. */
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

export const BACKENDS = ['sqlite', 'postgres'] as const;

export async function backendAvailable(kind: 'sqlite' | 'postgres'): Promise<boolean> {
  return kind === 'sqlite' ? true : postgresAvailable();
}

export function createBackend(kind: 'sqlite' | 'postgres', label: string): Promise<BackendFixture> {
  return Promise.resolve(createBackendNow(kind, label));
}

function createBackendNow(kind: 'sqlite' | 'postgres', label: string): BackendFixture {
  const dataDir = mkdtempSync(join(tmpdir(), `verity-${label}-`));
  if (kind === 'sqlite') {
    return {
      kind,
      dataDir,
      databaseUrl: undefined,
      env: { VERITY_DATA_DIR: dataDir, VERITY_DATABASE_URL: '' },
      cleanup: () => Promise.resolve(rmSync(dataDir, { recursive: true, force: true })),
    };
  }
  const { url, drop } = freshSchema(label);
  return {
    kind,
    dataDir,
    databaseUrl: url,
    env: { VERITY_DATA_DIR: dataDir, VERITY_DATABASE_URL: url },
    cleanup: async () => {
      await drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
