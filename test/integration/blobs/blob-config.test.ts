import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobError } from '../../../src/blobs/errors.js';
import { VerityNode } from '../../../src/node/verity-node.js';
import { spawnCli } from '../../support/cli.js';
import { startS3 } from '../../support/s3.js';
import type { TestS3 } from '../../support/s3.js';
import { startServerProcess } from '../../support/server.js';

/** Choosing the blob store: a node and `verity serve` open the one configured, or refuse to start naming the setting. */
describe('the configured blob store', () => {
  let s3: TestS3;
  let dataDir: string;

  beforeAll(async () => {
    s3 = await startS3();
    dataDir = mkdtempSync(join(tmpdir(), 'verity-blob-config-'));
  });
  afterAll(async () => {
    await s3?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses postgres blobs on a SQLite store, saying what to set, and leaves the store closed', async () => {
    const refused = await VerityNode.open({ dataDir, blobs: 'postgres', workers: 0 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(BlobError);
    expect((refused as BlobError).code).toBe('invalid_config');
    expect((refused as BlobError).message).toMatch(/VERITY_BLOBS.*postgres.*SQLite.*VERITY_DATABASE_URL/);
    // The database was closed: the same directory opens again at once.
    const node = await VerityNode.open({ dataDir, workers: 0 });
    expect(node.blobs.kind).toBe('file');
    expect(node.blobs.location).toBe(join(dataDir, 'blobs'));
    await node.stop();
  });

  it('refuses a bucket that does not answer when the node opens, not at its first blob', async () => {
    const refused = await VerityNode.open({
      dataDir,
      workers: 0,
      blobs: { kind: 's3', bucket: 'no-such-bucket', endpoint: s3.endpoint, credentials: s3.credentials },
    }).catch((e: unknown) => e);
    expect((refused as BlobError).code).toBe('unavailable');
    expect((refused as BlobError).message).toContain('bucket "no-such-bucket"');
    expect((refused as BlobError).message).toContain('NotFound (HTTP 404): it does not exist');
  });

  it('serves with the bucket that --blobs and --s3-endpoint name, credentials from the AWS variables', async () => {
    const server = await startServerProcess({
      dataDir: join(dataDir, 'serve'),
      args: ['--blobs', `s3://${s3.bucket}/cli`, '--s3-endpoint', s3.endpoint],
      env: { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', VERITY_BLOBS: '' },
    });
    try {
      expect(server.stderr()).toContain(`blobs: s3 s3://${s3.bucket}/cli/ at ${s3.endpoint}`);
      const upload = await fetch(`${server.url}/v1/blobs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.adminKey}`, 'content-type': 'text/plain' },
        body: 'through the CLI',
      });
      expect(upload.status).toBe(201);
    } finally {
      await server.stop();
    }
  });

  it('does not start serve with a blob store it cannot use (exit 2, the setting named)', async () => {
    const sqlite = await spawnCli(
      ['serve', '--data-dir', join(dataDir, 'refused'), '--port', '0', '--blobs', 'postgres'],
      {
        VERITY_DATABASE_URL: '',
      },
    ).output;
    expect(sqlite.code).toBe(2);
    expect(sqlite.stderr).toMatch(/VERITY_BLOBS.*SQLite/);
    const bad = await spawnCli(['serve', '--data-dir', join(dataDir, 'refused'), '--port', '0'], {
      VERITY_BLOBS: 'disk',
    }).output;
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("VERITY_BLOBS must be file, postgres or s3://<bucket>/<prefix>, got 'disk'");
  });
});
