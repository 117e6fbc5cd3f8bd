import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import type { S3Credentials } from '../../src/blobs/s3/s3-blob-store.js';

/** A real S3-compatible server (s3rver) on a loopback port of this process, with one bucket. */
export interface TestS3 {
  endpoint: string;
  bucket: string;
  /** The keys s3rver accepts (it checks signatures made with them). */
  credentials: S3Credentials;
  /** Where s3rver keeps objects: `<dir>/<bucket>/<key>._S3rver_object`. */
  dir: string;
  close(): Promise<void>;
}

export async function startS3(bucket = 'verity-test'): Promise<TestS3> {
  const dir = mkdtempSync(join(tmpdir(), 'verity-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: [{ name: bucket }],
  });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    dir,
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
