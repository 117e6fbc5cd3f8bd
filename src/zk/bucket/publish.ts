import { createReadStream } from 'node:fs';
import { canonicalJson } from '../../attest/canonical.js';
import { circuitId } from '../../attest/zk/circuit.js';
import type { ZkConfig } from '../../attest/zk/circuit.js';
import { ZkError } from '../../attest/zk/errors.js';
import type { BlobStore } from '../../blobs/blob-store.js';
import { BlobError } from '../../blobs/errors.js';
import { checkArtifacts, readArtifacts } from '../setup/artifacts.js';
import { PUBLISHED_ARTIFACTS, ZK_MANIFEST_FORMAT, ZK_MANIFEST_MEDIA_TYPE, publishedPath } from './manifest.js';
import type { PublishedArtifact, PublishedFile, ZkManifest } from './manifest.js';

export interface PublishedSetup {
  /** The manifest's blob: what VERITY_ZK_ARTIFACTS is set to on every replica. */
  digest: string;
  manifest: ZkManifest;
}

/**
 * Puts a finished setup's artifacts into the blob store, each as a blob named by its digest, and a
 * manifest that lists them; returns the manifest's digest. Only artifacts that still match the ceremony
 * transcript are published: a file changed after setup is refused here, not found later by a replica.
 * Publishing the same setup again stores nothing new and gives the same artifacts (the manifest differs
 * only in its time).
 */
export async function publishZkArtifacts(blobs: BlobStore, zkDir: string, config: ZkConfig): Promise<PublishedSetup> {
  const artifacts = await readArtifacts(zkDir, config);
  const changed = (await checkArtifacts(zkDir, artifacts.transcript)).filter(
    (c) => !c.ok && (c.name === 'wasm' || c.name === 'zkey' || c.name === 'verificationKey'),
  );
  if (changed.length > 0)
    throw new ZkError(
      'artifacts_refused',
      `${changed.map((c) => c.name).join(', ')} of ${artifacts.circuitId} in ${artifacts.paths.dir} changed since the ceremony transcript was written: run \`verity zk setup\` again before publishing`,
      { context: { circuitId: artifacts.circuitId, changed: changed.map((c) => c.path) } },
    );
  const files = {} as Record<PublishedArtifact, PublishedFile>;
  for (const name of PUBLISHED_ARTIFACTS) {
    const path = publishedPath(artifacts.paths, name);
    try {
      const staged = await blobs.receive(createReadStream(path));
      await staged.commit();
      files[name] = { digest: staged.digest, size: staged.size };
    } catch (error) {
      if (error instanceof BlobError && error.code === 'too_large')
        throw new ZkError(
          'artifacts_refused',
          `the zk artifact ${name} (${path}) is larger than the blob store takes (${String(error.context.limit)} bytes): raise the store's limit, or give replicas the artifacts with VERITY_ZK_DIR instead`,
          { cause: error },
        );
      throw error;
    }
  }
  const manifest: ZkManifest = {
    format: ZK_MANIFEST_FORMAT,
    circuitId: circuitId(config),
    config: artifacts.config,
    verificationKeyDigest: artifacts.transcript.verificationKeyDigest,
    files,
    publishedAt: new Date().toISOString(),
  };
  const ref = await blobs.put(Buffer.from(canonicalJson(manifest)), ZK_MANIFEST_MEDIA_TYPE);
  return { digest: ref.$blob, manifest };
}
