import { randomBytes } from 'node:crypto';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle } from '../../../src/attest/bundle.js';
import { verifyBundle } from '../../../src/attest/verify/verify-bundle.js';
import { ZkError } from '../../../src/attest/zk/errors.js';
import type { BlobConfig } from '../../../src/blobs/blob-config.js';
import { openBlobStore } from '../../../src/blobs/blob-config.js';
import { canonicalJson } from '../../../src/attest/canonical.js';
import { VerityNode } from '../../../src/node/verity-node.js';
import { ZkIssuer } from '../../../src/zk/zk-issuer.js';
import { artifactPaths } from '../../../src/zk/config.js';
import { fetchZkArtifacts } from '../../../src/zk/bucket/fetch.js';
import { ZK_MANIFEST_MEDIA_TYPE } from '../../../src/zk/bucket/manifest.js';
import { publishZkArtifacts } from '../../../src/zk/bucket/publish.js';
import { sha256File } from '../../../src/zk/setup/files.js';
import { releaseCurveWorkers } from '../../../src/zk/setup/curve.js';
import { runCli } from '../../support/cli.js';
import { startS3 } from '../../support/s3.js';
import type { TestS3 } from '../../support/s3.js';
import { startTestNode } from '../../support/node.js';
import { ensureTestZkArtifacts } from '../../support/zk-artifacts.js';
import type { TestZkArtifacts } from '../../support/zk-artifacts.js';
import { example } from '../receipts/support.js';
import { MINUTES, Scratch } from './setup-support.js';

/*
 * The zk artifacts in the blob store the replicas share: `verity zk publish` puts a setup there with a
 * manifest named by its digest, and a node given that digest (VERITY_ZK_ARTIFACTS) and an empty zk
 * directory fetches the artifacts, checks every one against the manifest, and proves with them. A byte
 * changed in the bucket or the directory is refused (or fetched again, for the local copy). Real stores: a
 * directory and a real S3 server (s3rver).
 */
let cache: TestZkArtifacts;
let s3: TestS3;
const scratch = new Scratch();

beforeAll(async () => {
  cache = await ensureTestZkArtifacts();
  s3 = await startS3();
}, 30 * MINUTES);

afterAll(async () => {
  await s3?.close();
  await scratch.cleanup();
  await releaseCurveWorkers();
});

interface StoreCase {
  config: BlobConfig;
  /** Another writer of the store changes a blob's bytes behind its back. */
  tamper(digest: string, bytes: Buffer): Promise<void>;
}

const STORES: Record<string, () => Promise<StoreCase>> = {
  file: async () => {
    const dir = await scratch.dir('verity-zkpub-blobs-');
    return {
      config: { kind: 'file', dir },
      tamper: async (digest, bytes) => {
        const hex = digest.slice('sha256:'.length);
        await writeFile(join(dir, 'sha256', hex.slice(0, 2), hex), bytes);
      },
    };
  },
  's3 (s3rver)': () => {
    const prefix = `zk-${randomBytes(4).toString('hex')}/`;
    const options = {
      bucket: s3.bucket,
      prefix,
      region: 'us-east-1',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: s3.credentials,
    };
    return Promise.resolve({
      config: { kind: 's3', ...options },
      tamper: async (digest, bytes) => {
        const other = new S3Client({ ...options, requestChecksumCalculation: 'WHEN_REQUIRED' });
        try {
          await other.send(
            new PutObjectCommand({ Bucket: s3.bucket, Key: `${prefix}sha256/${digest.slice(7)}`, Body: bytes }),
          );
        } finally {
          other.destroy();
        }
      },
    });
  },
};

async function openBlobs(config: BlobConfig, dataDir: string) {
  return openBlobStore(config, { store: { kind: 'sqlite', location: dataDir }, databaseUrl: undefined, dataDir });
}

/** A node that is given only the blob store and the manifest: its zk directory starts empty. */
async function openNode(config: BlobConfig, manifest: string, zkDir: string) {
  return VerityNode.open({
    dataDir: await scratch.dir('verity-zkpub-node-'),
    blobs: config,
    zkDir,
    zkArtifacts: manifest,
    zkConfig: cache.config,
    workers: 0,
    provers: 0,
    executors: [],
  });
}

const transcriptVkDigest = async () =>
  (JSON.parse(await readFile(cache.paths.transcript, 'utf8')) as { verificationKeyDigest: string })
    .verificationKeyDigest;

const errorOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

describe.each(Object.keys(STORES))('zk artifacts in the blob store: %s', (storeName) => {
  let store: StoreCase;
  let manifest: string;
  let files: Record<string, { digest: string; size: number }>;

  beforeAll(async () => {
    store = await STORES[storeName]!();
    const blobs = await openBlobs(store.config, await scratch.dir('verity-zkpub-publisher-'));
    try {
      const published = await publishZkArtifacts(blobs, cache.zkDir, cache.config);
      manifest = published.digest;
      files = published.manifest.files;
    } finally {
      await blobs.close();
    }
  }, 5 * MINUTES);

  it('fetches the artifacts into an empty zk directory, checked, and opens the zk level with them', async () => {
    const zkDir = await scratch.dir('verity-zkpub-cache-');
    const node = await openNode(store.config, manifest, zkDir);
    try {
      expect(node.zk).toBeInstanceOf(ZkIssuer);
      const issuer = node.zk as ZkIssuer;
      expect(issuer.artifacts.circuitId).toBe(cache.paths.dir.split('/').at(-1));
      expect(issuer.verificationKeyDigest).toBe(await transcriptVkDigest());
    } finally {
      await node.stop(0);
    }
    const local = artifactPaths(zkDir, cache.config);
    for (const name of ['wasm', 'zkey', 'verificationKey', 'transcript'] as const) {
      expect(`sha256:${await sha256File(local[name])}`).toBe(files[name]!.digest);
      expect(await sha256File(local[name])).toBe(await sha256File(cache.paths[name]));
    }
    // A second start finds them there and fetches nothing; a local copy changed since is fetched again.
    const blobs = await openBlobs(store.config, zkDir);
    try {
      expect(await fetchZkArtifacts(blobs, manifest, zkDir, cache.config)).toMatchObject({
        fetched: [],
        kept: ['wasm', 'zkey', 'verificationKey', 'transcript'],
      });
      await writeFile(local.zkey, Buffer.concat([await readFile(local.zkey), Buffer.from([0])]));
      expect((await fetchZkArtifacts(blobs, manifest, zkDir, cache.config)).fetched).toEqual(['zkey']);
      expect(`sha256:${await sha256File(local.zkey)}`).toBe(files.zkey!.digest);
    } finally {
      await blobs.close();
    }
  });

  it('refuses an artifact changed in the store, naming it, and leaves none of it in the zk directory', async () => {
    const zkDir = await scratch.dir('verity-zkpub-cache-');
    const original = await readFile(cache.paths.zkey);
    const changed = Buffer.from(original);
    changed[changed.length >> 1] = changed[changed.length >> 1]! ^ 0x01;
    await store.tamper(files.zkey!.digest, changed);
    try {
      const error = await errorOf(openNode(store.config, manifest, zkDir));
      expect(error).toBeInstanceOf(ZkError);
      expect((error as ZkError).code).toBe('artifacts_refused');
      expect((error as ZkError).message).toMatch(
        /^the zk artifact zkey of verity-batch-v1-b1-d2 \(sha256:[0-9a-f]{64}\) in the blob store \(.+\) does not match its digest: it was changed after `verity zk publish`; refused/,
      );
      await expect(stat(artifactPaths(zkDir, cache.config).zkey)).rejects.toThrow(/ENOENT/);
    } finally {
      await store.tamper(files.zkey!.digest, original);
    }
    // Put back, the same manifest is good again: the refusal was the bytes, not the setting.
    const node = await openNode(store.config, manifest, zkDir);
    expect(node.zk).toBeInstanceOf(ZkIssuer);
    await node.stop(0);
  });

  it('refuses a manifest that is not in the store, or is of another circuit, saying what to set', async () => {
    const zkDir = await scratch.dir('verity-zkpub-cache-');
    const missing = `sha256:${'0'.repeat(64)}`;
    expect(String(await errorOf(openNode(store.config, missing, zkDir)))).toMatch(
      /the zk artifacts manifest sha256:0{64} \(VERITY_ZK_ARTIFACTS\) is not in the blob store .*: run `verity zk publish`/,
    );
    const error = await errorOf(
      VerityNode.open({
        dataDir: await scratch.dir('verity-zkpub-node-'),
        blobs: store.config,
        zkDir,
        zkArtifacts: manifest,
        zkConfig: { batchSize: 2, registryDepth: 2 },
        workers: 0,
        executors: [],
      }),
    );
    expect(String(error)).toMatch(
      /is of circuit verity-batch-v1-b1-d2, but this node proves verity-batch-v1-b2-d2: set VERITY_ZK_BATCH_SIZE=1 and VERITY_ZK_REGISTRY_DEPTH=2/,
    );
    expect(String(await errorOf(openNode(store.config, 'sha256:nothex', zkDir)))).toMatch(
      /the zk artifacts setting \(VERITY_ZK_ARTIFACTS, verity serve --zk-artifacts, NodeOptions.zkArtifacts\) must be the manifest digest/,
    );
  });

  it('refuses a manifest whose listed digests do not agree with the transcript it lists', async () => {
    const blobs = await openBlobs(store.config, await scratch.dir('verity-zkpub-forger-'));
    try {
      // A manifest that lists the real verification key and transcript, but another "zkey" (the wasm's bytes):
      // every blob matches its own digest, so only the transcript's record can tell.
      const forged = await blobs.put(
        Buffer.from(
          canonicalJson({
            format: 'verity-zk-artifacts/v1',
            circuitId: 'verity-batch-v1-b1-d2',
            config: cache.config,
            verificationKeyDigest: await transcriptVkDigest(),
            files: { ...files, zkey: files.wasm },
            publishedAt: new Date().toISOString(),
          }),
        ),
        ZK_MANIFEST_MEDIA_TYPE,
      );
      const error = await errorOf(
        fetchZkArtifacts(blobs, forged.$blob, await scratch.dir('verity-zkpub-cache-'), cache.config),
      );
      expect(String(error)).toMatch(/does not agree with the ceremony transcript it lists \(zkey\)/);
    } finally {
      await blobs.close();
    }
  });
});

describe('verity zk publish, and a node that proves with what it fetched', () => {
  it(
    'publishes with the CLI; a node with only the manifest digest proves a zk execution that verifies',
    async () => {
      const blobDir = await scratch.dir('verity-zkpub-cli-blobs-');
      const published = await runCli(
        ['zk', 'publish', '--zk-dir', cache.zkDir, '--batch-size', '1', '--registry-depth', '2', '--blobs', 'file'],
        { VERITY_BLOB_DIR: blobDir, VERITY_DATA_DIR: await scratch.dir('verity-zkpub-cli-data-') },
      );
      expect(published.stderr).toMatch(/set VERITY_ZK_ARTIFACTS=sha256:[0-9a-f]{64}/);
      expect(published.code).toBe(0);
      const manifest = published.stdout.trim();
      expect(manifest).toMatch(/^sha256:[0-9a-f]{64}$/);

      const zkDir = await scratch.dir('verity-zkpub-prover-');
      const t = await startTestNode('sqlite', 'zk-publish', {
        blobs: { kind: 'file', dir: blobDir },
        zkDir,
        zkArtifacts: manifest,
        zkConfig: cache.config,
        provers: 1,
      });
      try {
        const { definition, input } = example('private-report');
        const view = await t.run(definition, input);
        expect(view.status).toBe('completed');
        let record = await t.node.store.read.getZkProof(view.executionId);
        for (let i = 0; i < 1500 && record?.status !== 'completed' && record?.status !== 'failed'; i++) {
          await new Promise((resolve) => setTimeout(resolve, 200));
          record = await t.node.store.read.getZkProof(view.executionId);
        }
        expect(record?.status).toBe('completed');
        const bundle = (await t.node.bundle(view.executionId)) as Bundle;
        const report = await verifyBundle(bundle, {
          trustedKeys: [t.node.coordinatorSigner.publicKeyPem],
          level: 'zk',
          zkVerificationKeys: [JSON.parse(await readFile(cache.paths.verificationKey, 'utf8'))],
        });
        expect(report.checks.filter((c) => !c.ok)).toEqual([]);
        expect(report.ok).toBe(true);
      } finally {
        await t.close();
        await rm(zkDir, { recursive: true, force: true });
      }
    },
    10 * MINUTES,
  );
});
