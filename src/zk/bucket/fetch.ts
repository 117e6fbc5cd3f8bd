import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { jsonDigest } from '../../attest/digest.js';
import { circuitId } from '../../attest/zk/circuit.js';
import type { ZkConfig } from '../../attest/zk/circuit.js';
import { ZkError } from '../../attest/zk/errors.js';
import type { BlobStore } from '../../blobs/blob-store.js';
import { BlobError } from '../../blobs/errors.js';
import { artifactPaths } from '../config.js';
import { exists, sha256File, writeAtomically } from '../setup/files.js';
import { readTranscript } from '../setup/transcript.js';
import { PUBLISHED_ARTIFACTS, parseZkManifest, publishedPath } from './manifest.js';
import type { PublishedArtifact, ZkManifest } from './manifest.js';

export interface FetchedSetup {
  manifest: ZkManifest;
  /** The artifacts copied from the blob store this time, and those the local cache already had right. */
  fetched: PublishedArtifact[];
  kept: PublishedArtifact[];
}

/**
 * Makes `zkDir` hold the artifacts a published manifest names (`verity zk publish`), for the circuit this
 * node proves: what the directory already has with the published digest is kept, anything else (missing,
 * changed, another setup's) is copied from the blob store and checked on the way. The manifest is named by
 * its digest and names every artifact by its digest, so nothing is taken on the word of the bucket or the
 * database: a changed byte anywhere is refused with an error naming the artifact, and nothing of it is
 * left where readArtifacts would find it. Then the transcript, as fetched, must record the same digests.
 */
export async function fetchZkArtifacts(
  blobs: BlobStore,
  manifestDigest: string,
  zkDir: string,
  config: ZkConfig,
): Promise<FetchedSetup> {
  const where = `the blob store (${blobs.kind} ${blobs.location})`;
  let bytes: Buffer;
  try {
    bytes = await blobs.get(manifestDigest);
  } catch (error) {
    throw refusal(error, `the zk artifacts manifest ${manifestDigest} (VERITY_ZK_ARTIFACTS)`, where);
  }
  const manifest = parseZkManifest(bytes, manifestDigest);
  const wanted = circuitId(config);
  if (manifest.circuitId !== wanted)
    throw new ZkError(
      'artifacts_refused',
      `the zk artifacts manifest ${manifestDigest} (VERITY_ZK_ARTIFACTS) is of circuit ${manifest.circuitId}, but this node proves ${wanted}: set VERITY_ZK_BATCH_SIZE=${manifest.config.batchSize} and VERITY_ZK_REGISTRY_DEPTH=${manifest.config.registryDepth}, or publish the setup of ${wanted}`,
      { context: { manifest: manifestDigest, circuitId: manifest.circuitId, expected: wanted } },
    );
  const paths = artifactPaths(zkDir, config);
  const fetched: PublishedArtifact[] = [];
  const kept: PublishedArtifact[] = [];
  for (const name of PUBLISHED_ARTIFACTS) {
    const file = manifest.files[name];
    const path = publishedPath(paths, name);
    if ((await exists(path)) && `sha256:${await sha256File(path)}` === file.digest) {
      kept.push(name);
      continue;
    }
    const what = `the zk artifact ${name} of ${manifest.circuitId} (${file.digest})`;
    try {
      await writeAtomically(path, async (temp) => {
        const { stream } = await blobs.stream(file.digest);
        const hash = createHash('sha256');
        let size = 0;
        const tee = new Transform({
          transform(chunk: Buffer, _encoding, done) {
            hash.update(chunk);
            size += chunk.length;
            done(null, chunk);
          },
        });
        await pipeline(stream, tee, createWriteStream(temp));
        const digest = `sha256:${hash.digest('hex')}`;
        // The store checks what it serves too; this is the manifest's word, checked on what was written.
        if (digest !== file.digest || size !== file.size)
          throw new BlobError(
            'corrupt',
            `${digest}, ${size} bytes, where the manifest says ${file.digest}, ${file.size} bytes`,
          );
      });
    } catch (error) {
      throw refusal(error, what, where);
    }
    fetched.push(name);
  }
  // The transcript is the setup's own record: it must name the artifacts the manifest named.
  const transcript = await readTranscript(paths.transcript, wanted);
  const verificationKey: unknown = JSON.parse(await readFile(paths.verificationKey, 'utf8'));
  const disagree = [
    ...(['wasm', 'zkey', 'verificationKey'] as const).filter(
      (name) => `sha256:${transcript.artifacts[name]?.sha256}` !== manifest.files[name].digest,
    ),
    ...(jsonDigest(verificationKey) !== manifest.verificationKeyDigest ||
    transcript.verificationKeyDigest !== manifest.verificationKeyDigest
      ? ['verificationKeyDigest']
      : []),
  ];
  if (disagree.length > 0)
    throw new ZkError(
      'artifacts_refused',
      `the zk artifacts manifest ${manifestDigest} does not agree with the ceremony transcript it lists (${disagree.join(', ')}): publish the setup again with \`verity zk publish\``,
      { context: { manifest: manifestDigest, disagree } },
    );
  return { manifest, fetched, kept };
}

/** A blob store's refusal, said as what it means for the zk artifacts, and what to do. */
function refusal(error: unknown, what: string, where: string): ZkError {
  if (error instanceof ZkError) return error;
  if (error instanceof BlobError && error.code === 'corrupt')
    return new ZkError(
      'artifacts_refused',
      `${what} in ${where} does not match its digest: it was changed after \`verity zk publish\`; refused. Publish the setup again from a good copy (\`verity zk publish\`) and set VERITY_ZK_ARTIFACTS to the digest it prints`,
      { cause: error },
    );
  if (error instanceof BlobError && error.code === 'not_found')
    return new ZkError(
      'artifacts_refused',
      `${what} is not in ${where}: run \`verity zk publish\` with this node's blob store settings (VERITY_BLOBS and the rest), and set VERITY_ZK_ARTIFACTS to the digest it prints`,
      { cause: error },
    );
  return new ZkError('artifacts_refused', `cannot fetch ${what} from ${where}: ${(error as Error).message}`, {
    cause: error,
  });
}
