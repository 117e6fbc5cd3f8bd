import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { call } from '../../support/api-http.js';
import { startServerProcess } from '../../support/server.js';
import type { ServerProcess } from '../../support/server.js';

/**
 * The SQLite database holds key hashes and every client's inputs and results: `verity serve` keeps it (and
 * its -wal and -shm files) readable by its owner only, in a data directory only its owner may enter.
 */
const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8).padStart(3, '0');

describe("file modes of a server's data directory", () => {
  let server: ServerProcess | undefined;
  let dataDir = '';
  afterEach(async () => {
    await server?.stop();
    server = undefined;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates verity.db, verity.db-wal and verity.db-shm 0600 in a 0700 data directory', async () => {
    dataDir = join(mkdtempSync(join(tmpdir(), 'verity-modes-')), 'data');
    server = await startServerProcess({ dataDir });
    // A write, so the write-ahead log has something in it while the server runs.
    const created = await call(server.url, 'POST', '/v1/keys', {
      key: server.adminKey,
      json: { principal: 'alice', role: 'client' },
    });
    expect(created.status).toBe(201);
    const modes = Object.fromEntries(
      ['verity.db', 'verity.db-wal', 'verity.db-shm'].map((f) => [f, modeOf(join(dataDir, f))]),
    );
    expect(modes).toEqual({ 'verity.db': '600', 'verity.db-wal': '600', 'verity.db-shm': '600' });
    expect(modeOf(dataDir)).toBe('700');
  });

  it('tightens a database an older version left 0644', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'verity-modes-'));
    server = await startServerProcess({ dataDir });
    await server.stop();
    server = undefined;
    chmodSync(join(dataDir, 'verity.db'), 0o644);
    // A stale -wal left readable, as a crash of an older version could leave it.
    writeFileSync(join(dataDir, 'verity.db-wal'), '', { mode: 0o644 });
    chmodSync(join(dataDir, 'verity.db-wal'), 0o644);
    server = await startServerProcess({ dataDir });
    expect(modeOf(join(dataDir, 'verity.db'))).toBe('600');
    expect(modeOf(join(dataDir, 'verity.db-wal'))).toBe('600');
  });
});
