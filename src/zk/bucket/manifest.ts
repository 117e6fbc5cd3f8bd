import { checkZkConfig, circuitId } from '../../attest/zk/circuit.js';
import type { ZkConfig } from '../../attest/zk/circuit.js';
import { ZkError } from '../../attest/zk/errors.js';
import { isBlobDigest } from '../../blobs/blob-ref.js';
import type { artifactPaths } from '../config.js';

export const ZK_MANIFEST_FORMAT = 'verity-zk-artifacts/v1';
export const ZK_MANIFEST_MEDIA_TYPE = 'application/vnd.verity.zk-artifacts.v1+json';

/**
 * What a prover needs of a setup, and all `verity zk publish` puts in the blob store: the witness
 * generator, the proving key, the verification key and the ceremony transcript (which `verity zk info`
 * shows and which records the digests the setup made). Not the r1cs or the phase-1 file: only a setup or
 * a contribution reads those.
 */
export const PUBLISHED_ARTIFACTS = ['wasm', 'zkey', 'verificationKey', 'transcript'] as const;
export type PublishedArtifact = (typeof PUBLISHED_ARTIFACTS)[number];

/** Where each published artifact goes in a zk directory: fixed by its name, never by what a manifest says. */
export function publishedPath(paths: ReturnType<typeof artifactPaths>, name: PublishedArtifact): string {
  return paths[name];
}

export interface PublishedFile {
  /** The blob that holds it: `sha256:<hex>` of its bytes. */
  digest: string;
  size: number;
}

/**
 * The list of a published setup, itself a blob: its digest (VERITY_ZK_ARTIFACTS) pins every artifact's
 * digest, so a replica that is given it needs to trust neither the database nor the bucket.
 */
export interface ZkManifest {
  format: typeof ZK_MANIFEST_FORMAT;
  circuitId: string;
  config: ZkConfig;
  /** jsonDigest of the verification key, as receipts name it. */
  verificationKeyDigest: string;
  files: Record<PublishedArtifact, PublishedFile>;
  publishedAt: string;
}

/** The setting that names a manifest, as people set it. */
export const ZK_ARTIFACTS_SETTING =
  'the zk artifacts setting (VERITY_ZK_ARTIFACTS, verity serve --zk-artifacts, NodeOptions.zkArtifacts)';

/** `sha256:<64 hex>`, or a ZkError naming the setting and what to put there. */
export function checkManifestDigest(value: string): string {
  const trimmed = value.trim();
  if (isBlobDigest(trimmed)) return trimmed;
  throw new ZkError(
    'invalid_config',
    `${ZK_ARTIFACTS_SETTING} must be the manifest digest \`verity zk publish\` printed, sha256:<64 hex digits>; got '${value}'`,
    { context: { setting: 'VERITY_ZK_ARTIFACTS', value } },
  );
}

/** Reads a manifest's bytes: untrusted until every field is checked (a manifest names files, sizes and digests). */
export function parseZkManifest(bytes: Uint8Array, digest: string): ZkManifest {
  const refuse = (why: string): never => {
    throw new ZkError(
      'artifacts_refused',
      `the zk artifacts manifest ${digest} is not a ${ZK_MANIFEST_FORMAT} manifest (${why}): set VERITY_ZK_ARTIFACTS to the digest \`verity zk publish\` printed`,
      { context: { manifest: digest } },
    );
  };
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return refuse('not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return refuse('not an object');
  const m = value as Partial<Record<keyof ZkManifest, unknown>>;
  if (m.format !== ZK_MANIFEST_FORMAT) return refuse(`format is ${JSON.stringify(m.format)}`);
  let config: ZkConfig;
  try {
    config = checkZkConfig(m.config as ZkConfig);
  } catch {
    return refuse('config is not a circuit configuration');
  }
  if (m.circuitId !== circuitId(config)) return refuse('circuitId does not match its config');
  if (typeof m.verificationKeyDigest !== 'string' || !/^[0-9a-f]{64}$/.test(m.verificationKeyDigest))
    return refuse('verificationKeyDigest is not a SHA-256 in hex');
  if (typeof m.files !== 'object' || m.files === null) return refuse('files is missing');
  const files = {} as Record<PublishedArtifact, PublishedFile>;
  for (const name of PUBLISHED_ARTIFACTS) {
    const file = (m.files as Record<string, unknown>)[name] as Partial<PublishedFile> | undefined;
    if (!file || !isBlobDigest(file.digest) || !Number.isSafeInteger(file.size) || (file.size as number) < 0)
      return refuse(`files.${name} is not { digest: "sha256:…", size }`);
    files[name] = { digest: file.digest, size: file.size as number };
  }
  return {
    format: ZK_MANIFEST_FORMAT,
    circuitId: m.circuitId,
    config,
    verificationKeyDigest: m.verificationKeyDigest,
    files,
    publishedAt: typeof m.publishedAt === 'string' ? m.publishedAt : '',
  };
}
