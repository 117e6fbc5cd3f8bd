import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../../src/api/server.js';
import { ApiKeys } from '../../../src/auth/api-keys.js';
import type { BlobSetting } from '../../../src/blobs/blob-config.js';
import type { Executor, ExecutorContext, ExecutorJob } from '../../../src/executors/executor.js';
import { defaultExecutors } from '../../../src/executors/defaults.js';
import { VerityNode } from '../../../src/node/verity-node.js';
import { VerityClient } from '../../../src/sdk/client.js';
import { freshSchema, postgresAvailable } from '../../support/postgres.js';
import { startS3 } from '../../support/s3.js';
import type { TestS3 } from '../../support/s3.js';

/**
 * Two replicas on one PostgreSQL schema that share no disk: each has its own data directory, and blobs live
 * in a bucket (s3rver) or in the database. A client uploads through one replica; the step that reads the
 * blob runs on the other's worker (the first has none), stores its output blob there, and the client
 * downloads that output through the first again. Neither data directory ends up holding a blob.
 */

/** A step that reads the blob `input.file` and stores its bytes reversed. */
class ReverseBlob implements Executor {
  readonly name = 'reverse-blob';
  readonly capabilities = { stepTypes: [], models: ['test/reverse-blob'] };
  async run(job: ExecutorJob, context: ExecutorContext) {
    const bytes = await context.blobs.get((job.input as { file: string }).file);
    return {
      output: { reversed: await context.blobs.put(Buffer.from(bytes).reverse(), 'text/plain'), length: bytes.length },
    };
  }
}

const reverseFlow = {
  id: 'reverse',
  name: 'reverse',
  version: 1,
  steps: [
    {
      id: 'rev',
      step_type: 'inference',
      model_requirements: { name: 'test/reverse-blob' },
      input_mappings: { file: 'inputs.file' },
      retry_policy: { max_attempts: 1 },
    },
  ],
  outputs: { reversed: 'steps.rev.output.reversed', length: 'steps.rev.output.length' },
};

interface Replica {
  node: VerityNode;
  url: string;
  dataDir: string;
  close(): Promise<void>;
}

async function startReplica(options: {
  databaseUrl: string;
  keyDir: string;
  blobs: BlobSetting;
  workers: number;
}): Promise<Replica> {
  const dataDir = mkdtempSync(join(tmpdir(), 'verity-replica-'));
  const node = await VerityNode.open({
    dataDir,
    databaseUrl: options.databaseUrl,
    // Replicas share the coordinator key (receipts, log checkpoints), not a directory.
    coordinatorKeyFile: join(options.keyDir, 'coordinator.key'),
    blobs: options.blobs,
    workers: options.workers,
    executors: [...defaultExecutors(), new ReverseBlob()],
    sweepIntervalMs: 50,
    pollMs: 100,
    provers: 0,
    onError: (error, context) =>
      process.stderr.write(`node error: ${String(error)} ${JSON.stringify(context ?? {})}\n`),
  });
  await node.start();
  const { app, shutdown } = await buildServer(node, { logger: false, closeGraceMs: 200 });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    node,
    dataDir,
    url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    async close() {
      shutdown.abort();
      await app.close();
      await node.stop(1000);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const STORES = ['s3', 'postgres'] as const;

for (const kind of STORES) {
  describe(`replicas with ${kind} blobs and no shared disk`, () => {
    let skip = false;
    let s3: TestS3 | undefined;
    let schema: ReturnType<typeof freshSchema>;
    let keyDir: string;
    let uploader: Replica;
    let runner: Replica;

    beforeAll(async () => {
      if (!(await postgresAvailable())) {
        skip = true;
        return;
      }
      schema = freshSchema(`replica_blobs_${kind}`);
      keyDir = mkdtempSync(join(tmpdir(), 'verity-replica-keys-'));
      let blobs: BlobSetting = 'postgres';
      if (kind === 's3') {
        s3 = await startS3();
        blobs = {
          kind: 's3',
          bucket: s3.bucket,
          prefix: 'replicas',
          endpoint: s3.endpoint,
          credentials: s3.credentials,
        };
      }
      // The first replica only takes requests; the second only runs steps.
      uploader = await startReplica({ databaseUrl: schema.url, keyDir, blobs, workers: 0 });
      runner = await startReplica({ databaseUrl: schema.url, keyDir, blobs, workers: 2 });
    });
    afterAll(async () => {
      await uploader?.close();
      await runner?.close();
      await s3?.close();
      await schema?.drop();
      if (keyDir) rmSync(keyDir, { recursive: true, force: true });
    });

    it('runs a step on one replica over a blob uploaded through the other, and serves its output blob back', async (t) => {
      if (skip) t.skip();
      expect(uploader.node.blobs.kind).toBe(kind);
      const keys = await keysFor(uploader);
      const atUploader = new VerityClient({ server: uploader.url, apiKey: keys.client });
      const atRunner = new VerityClient({ server: runner.url, apiKey: keys.client });
      await new VerityClient({ server: uploader.url, apiKey: keys.publisher }).publishWorkflow(reverseFlow);

      const ref = await atUploader.uploadBlob(new TextEncoder().encode('no shared disk'), 'text/plain');
      // The other replica has the blob at once: it reads the same bucket or database.
      expect(await runner.node.blobs.has(ref)).toBe(true);
      const started = await atUploader.execute('reverse', { inputs: { file: ref.$blob } });
      const done = await atUploader.waitFor(started.executionId);
      expect(done.status, JSON.stringify(done)).toBe('completed');
      // It ran on the runner's in-process worker: the uploader has none.
      expect(uploader.node.worker).toBeUndefined();

      const out = (done.result as { reversed: { $blob: string }; length: number }).reversed;
      expect((done.result as { length: number }).length).toBe(14);
      for (const client of [atUploader, atRunner]) {
        expect(new TextDecoder().decode((await client.downloadBlob(out.$blob)).bytes)).toBe('ksid derahs on');
      }
      // Grants are the database's, whatever keeps the bytes: another client reads neither blob, on either replica.
      const bob = (await new ApiKeys(uploader.node.store).create('bob', 'client')).token;
      for (const url of [uploader.url, runner.url]) {
        for (const digest of [ref.$blob, out.$blob]) {
          await expect(new VerityClient({ server: url, apiKey: bob }).downloadBlob(digest)).rejects.toMatchObject({
            status: 404,
          });
        }
      }
      // The receipt's full bundle reads the output from the shared store too, from either replica.
      const bundle = await uploader.node.bundle(started.executionId, { includeData: true });
      expect(JSON.stringify(bundle)).toContain(out.$blob);
      for (const replica of [uploader, runner]) {
        expect(existsSync(join(replica.dataDir, 'blobs')), replica.dataDir).toBe(false);
      }
    });
  });
}

/** A client and a publisher key for Alice, made through the uploader (keys live in the shared database). */
async function keysFor(replica: Replica): Promise<{ client: string; publisher: string }> {
  const keys = new ApiKeys(replica.node.store);
  return {
    client: (await keys.create('alice', 'client')).token,
    publisher: (await keys.create('alice', 'publisher')).token,
  };
}
