import { join } from 'node:path';
import type { VerityEnv } from '../env.js';
import type { BlobStore } from './blob-store.js';
import { BlobError } from './errors.js';
import { FileBlobStore } from './file/file-blob-store.js';
import { PostgresBlobStore } from './postgres/postgres-blob-store.js';
import type { S3Credentials } from './s3/s3-blob-store.js';
import { normalizePrefix } from './s3/s3-prefix.js';

/** An S3-compatible bucket, as configured: what is left out takes its default (resolveBlobConfig). */
export interface S3BlobSetting {
  kind: 's3';
  bucket: string;
  /** Default: '' (keys at the bucket's root: `sha256/<hex>`). */
  prefix?: string | undefined;
  /** Default: VERITY_S3_REGION, else AWS_REGION, else us-east-1. */
  region?: string | undefined;
  /** Default: VERITY_S3_ENDPOINT, else none (AWS itself). */
  endpoint?: string | undefined;
  /** Default: VERITY_S3_FORCE_PATH_STYLE, else true when there is an endpoint (S3-compatible servers want it), false for AWS. */
  forcePathStyle?: boolean | undefined;
  /** Default: the AWS SDK's chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, an instance role). */
  credentials?: S3Credentials | undefined;
}

/**
 * Which blob store a node keeps blob bytes in: `file` (a directory: the default, for one node or replicas
 * on a shared volume), `postgres` (the store's PostgreSQL database: replicas that share only it), or
 * `s3://<bucket>/<prefix>` (an S3-compatible bucket: replicas that share no disk, many or large blobs), or
 * the same as an object.
 */
export type BlobSetting =
  | 'file'
  | 'postgres'
  | `s3://${string}`
  | { kind: 'file'; /** Default: NodeOptions.blobDir. */ dir?: string | undefined }
  | { kind: 'postgres' }
  | S3BlobSetting;

/** The blob store resolved: every default filled in, once. */
export type BlobConfig = { kind: 'file'; dir: string } | { kind: 'postgres' } | ResolvedS3Config;

export interface ResolvedS3Config {
  kind: 's3';
  bucket: string;
  prefix: string;
  region: string;
  endpoint: string | undefined;
  forcePathStyle: boolean;
  credentials: S3Credentials | undefined;
}

/** The name a misconfigured blob store is reported under: every way of setting it. */
const SETTING = 'the blob store setting (VERITY_BLOBS, verity serve --blobs, NodeOptions.blobs)';

/** `s3://bucket/some/prefix` → bucket and prefix; anything else that is not file or postgres is refused. */
export function parseBlobSetting(text: string): BlobSetting {
  const trimmed = text.trim();
  if (trimmed === 'file' || trimmed === 'postgres') return trimmed;
  const s3 = /^s3:\/\/([^/\s]+)(?:\/(\S*))?$/.exec(trimmed);
  if (s3) return { kind: 's3', bucket: s3[1]!, prefix: s3[2] ?? '' };
  throw new BlobError('invalid_config', `${SETTING} must be file, postgres or s3://<bucket>/<prefix>; got '${text}'`, {
    context: { setting: 'VERITY_BLOBS', value: text },
  });
}

/** S3's bucket naming rules, as far as they prevent a key from landing somewhere else than meant. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * The blob store a node uses: the setting given (NodeOptions.blobs), else VERITY_BLOBS, else `file`, with
 * the S3 details from the object, else their VERITY_S3_* variables, else their defaults. Checked here, so
 * a bad bucket name or endpoint is an error naming the setting before anything opens.
 */
export function resolveBlobConfig(
  setting: BlobSetting | undefined,
  context: { env: VerityEnv; processEnv?: Readonly<Record<string, string | undefined>>; blobDir: string },
): BlobConfig {
  const { env } = context;
  const given = setting ?? env.VERITY_BLOBS ?? 'file';
  const parsed = typeof given === 'string' ? parseBlobSetting(given) : given;
  const kind = typeof parsed === 'string' ? parsed : parsed.kind;
  if (kind === 'file')
    return { kind: 'file', dir: (typeof parsed === 'object' && 'dir' in parsed && parsed.dir) || context.blobDir };
  if (kind === 'postgres') return { kind: 'postgres' };
  if (kind !== 's3' || typeof parsed !== 'object' || !('bucket' in parsed)) {
    throw new BlobError('invalid_config', `${SETTING}: kind must be file, postgres or s3, got '${String(kind)}'`);
  }
  if (!BUCKET.test(parsed.bucket)) {
    throw new BlobError(
      'invalid_config',
      `${SETTING}: bucket "${parsed.bucket}" is not an S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens)`,
    );
  }
  const endpoint = parsed.endpoint ?? env.VERITY_S3_ENDPOINT;
  if (endpoint !== undefined && !/^https?:\/\/\S+$/.test(endpoint))
    throw new BlobError(
      'invalid_config',
      `the S3 endpoint (VERITY_S3_ENDPOINT, --s3-endpoint) must be an http:// or https:// URL, got '${endpoint}'`,
    );
  const pathStyleEnv = env.VERITY_S3_FORCE_PATH_STYLE;
  const processEnv = context.processEnv ?? process.env;
  return {
    kind: 's3',
    bucket: parsed.bucket,
    prefix: normalizePrefix(parsed.prefix ?? ''),
    region: parsed.region ?? env.VERITY_S3_REGION ?? (processEnv.AWS_REGION || undefined) ?? 'us-east-1',
    endpoint,
    forcePathStyle:
      parsed.forcePathStyle ?? (pathStyleEnv !== undefined ? pathStyleEnv === 'true' : endpoint !== undefined),
    credentials: parsed.credentials,
  };
}

/**
 * Opens the configured blob store. `postgres` needs the store to be PostgreSQL (its database is where the
 * bytes go); a SQLite store is refused with what to set instead.
 */
export async function openBlobStore(
  config: BlobConfig,
  context: {
    store: { kind: 'sqlite' | 'postgres'; location: string };
    databaseUrl: string | undefined;
    dataDir: string;
  },
): Promise<BlobStore> {
  // Uploads to a database or a bucket are received here first: a local directory, never shared.
  const stagingDir = join(context.dataDir, 'uploads');
  switch (config.kind) {
    case 'file':
      return new FileBlobStore({ dir: config.dir });
    case 'postgres':
      if (context.store.kind !== 'postgres' || context.databaseUrl === undefined) {
        throw new BlobError(
          'invalid_config',
          `${SETTING} is postgres, which keeps blobs in the PostgreSQL database, but this node's store is SQLite (${context.store.location}): set VERITY_DATABASE_URL (--database-url) to a postgres:// URL, or keep blobs in files (VERITY_BLOBS=file) or a bucket (s3://…)`,
          { context: { setting: 'VERITY_BLOBS', value: 'postgres' } },
        );
      }
      return new PostgresBlobStore({ url: context.databaseUrl, stagingDir });
    case 's3': {
      // Loaded only when used: the AWS SDK takes most of a second to import, which no other command should pay.
      const { S3BlobStore } = await import('./s3/s3-blob-store.js');
      return S3BlobStore.open({ ...config, stagingDir });
    }
  }
}
