import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../../src/store/open-store.js';
import { migrate } from '../../../src/store/sql/migrate.js';
import { schemaMigrations } from '../../../src/store/sql/schema.js';
import type { Store } from '../../../src/store/store.js';

/**
 * Migration 9 on a database that was at version 8: jobs in flight and replica results already in get the
 * principal of their worker (or, for a worker that had none, the worker itself), so no vote is left without
 * a voter and no in-flight job escapes the principal rule of claims.
 */

const SQLITE_TYPES = {
  int: 'INTEGER',
  serialKey: 'INTEGER PRIMARY KEY AUTOINCREMENT',
  txOrderDefault: '0',
  jobsQueuedNotice: [],
  blobContents: [],
};

describe('migration 9 (principals) over existing rows', () => {
  let dir: string | undefined;
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    store = undefined;
    dir = undefined;
  });

  it("fills in the principal of jobs in flight and of replica results from their worker's", async () => {
    dir = mkdtempSync(join(tmpdir(), 'verity-migration-9-'));
    const db = new Database(join(dir, 'verity.db'));
    const conn = {
      all: (sql: string, params: readonly unknown[] = []) =>
        Promise.resolve(db.prepare(sql).all(...params) as Record<string, unknown>[]),
      run: (sql: string, params: readonly unknown[] = []) => Promise.resolve(db.prepare(sql).run(...params).changes),
      send: (sql: string, params: readonly unknown[] = []) => void db.prepare(sql).run(...params),
    };
    await migrate(
      schemaMigrations(SQLITE_TYPES).filter((m) => m.version <= 8),
      (fn) => fn(conn),
    );
    const worker = (id: string, principal: string | null) =>
      db
        .prepare(
          "INSERT INTO workers (id, name, kind, host, pid, capabilities, concurrency, status, started_at, last_seen_at, principal) VALUES (?, ?, 'remote', 'h', 1, '{}', 1, 'active', 0, 0, ?)",
        )
        .run(id, id, principal);
    worker('w-acme', 'acme');
    worker('w-none', null);
    db.prepare(
      "INSERT INTO workflows (digest, workflow_id, version, name, definition, created_at) VALUES ('d', 'wf', 1, 'wf', '{}', 0)",
    ).run();
    db.prepare(
      "INSERT INTO executions (id, workflow_digest, workflow_id, workflow_version, client_id, status, inputs, input_digest, budget, spent, reserved, created_at, started_at, deadline_at, updated_at) VALUES ('e1', 'd', 'wf', 1, 'c', 'running', '{}', 'i', 0, 0, 0, 0, 0, 0, 0)",
    ).run();
    const job = (id: string, replica: number, status: string, workerId: string | null) =>
      db
        .prepare(
          "INSERT INTO jobs (id, execution_id, step_id, attempt, replica, status, step_type, spec, input, input_digest, reserved, worker_id, timeout_ms, available_at, created_at) VALUES (?, 'e1', 'vote', 1, ?, ?, 'inference', '{}', '{}', 'i', 0, ?, 1000, 0, 0)",
        )
        .run(id, replica, status, workerId);
    job('j0', 0, 'running', 'w-acme');
    job('j1', 1, 'assigned', 'w-none');
    job('j2', 2, 'queued', null);
    const result = (replica: number, jobId: string, workerId: string) =>
      db
        .prepare(
          "INSERT INTO replica_results (execution_id, step_id, attempt, replica, job_id, worker_id, output, output_digest, cost, created_at) VALUES ('e1', 'vote', 1, ?, ?, ?, '{}', 'o', 0, 0)",
        )
        .run(replica, jobId, workerId);
    result(0, 'j0', 'w-acme');
    result(1, 'j1', 'w-none');
    db.close();

    store = await openStore({ dataDir: dir, databaseUrl: undefined });
    expect((await store.read.getJob('j0'))?.principal).toBe('acme');
    expect((await store.read.getJob('j1'))?.principal).toBe('worker:w-none');
    expect((await store.read.getJob('j2'))?.principal).toBeUndefined();
    const results = await store.read.listReplicaResults('e1');
    expect(results.map((r) => [r.replica, r.principal])).toEqual([
      [0, 'acme'],
      [1, 'worker:w-none'],
    ]);
  });
});
