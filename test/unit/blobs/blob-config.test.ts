import { describe, expect, it } from 'vitest';
import { parseBlobSetting, resolveBlobConfig } from '../../../src/blobs/blob-config.js';
import { BlobError } from '../../../src/blobs/errors.js';
import { EnvError, readEnv } from '../../../src/env.js';

const resolve = (setting: Parameters<typeof resolveBlobConfig>[0], env: Record<string, string> = {}, aws = {}) =>
  resolveBlobConfig(setting, { env: readEnv(env), processEnv: aws, blobDir: '/data/blobs' });

const refusal = (fn: () => unknown): BlobError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof BlobError) return error;
    throw error;
  }
  throw new Error('expected a BlobError');
};

describe('the blob store setting', () => {
  it('is file by default, in the blob directory', () => {
    expect(resolve(undefined)).toEqual({ kind: 'file', dir: '/data/blobs' });
    expect(resolve(undefined, { VERITY_BLOBS: 'postgres' })).toEqual({ kind: 'postgres' });
    expect(resolve({ kind: 'file', dir: '/elsewhere' })).toEqual({ kind: 'file', dir: '/elsewhere' });
  });

  it('reads s3://bucket/prefix, with the S3 details from their variables, then their defaults', () => {
    expect(parseBlobSetting('s3://my-bucket/a/b')).toEqual({ kind: 's3', bucket: 'my-bucket', prefix: 'a/b' });
    expect(resolve('s3://my-bucket')).toEqual({
      kind: 's3',
      bucket: 'my-bucket',
      prefix: '',
      region: 'us-east-1',
      endpoint: undefined,
      forcePathStyle: false,
      credentials: undefined,
    });
    // An endpoint means an S3-compatible server: path-style unless told otherwise.
    expect(
      resolve('s3://my-bucket/verity', { VERITY_S3_ENDPOINT: 'http://127.0.0.1:9000' }, { AWS_REGION: 'eu-west-3' }),
    ).toMatchObject({
      prefix: 'verity/',
      endpoint: 'http://127.0.0.1:9000',
      forcePathStyle: true,
      region: 'eu-west-3',
    });
    expect(
      resolve('s3://my-bucket', {
        VERITY_S3_ENDPOINT: 'https://s3.example.test',
        VERITY_S3_FORCE_PATH_STYLE: 'false',
        VERITY_S3_REGION: 'auto',
      }),
    ).toMatchObject({ forcePathStyle: false, region: 'auto' });
    // The option wins over the environment.
    expect(
      resolve(
        { kind: 's3', bucket: 'b-1', endpoint: 'http://x:1', region: 'r', forcePathStyle: false },
        { VERITY_S3_ENDPOINT: 'http://y:2', VERITY_S3_REGION: 'other' },
      ),
    ).toMatchObject({ endpoint: 'http://x:1', region: 'r', forcePathStyle: false });
  });

  it('is refused with the setting named when it is not one of the three, or names no usable bucket', () => {
    for (const bad of ['ftp://bucket', 's3:/bucket', 'files', '']) {
      const error = refusal(() => parseBlobSetting(bad));
      expect(error.code).toBe('invalid_config');
      expect(error.message).toContain('VERITY_BLOBS');
      expect(error.message).toContain('s3://<bucket>/<prefix>');
    }
    const bucket = refusal(() => resolve('s3://Not_A_Bucket/x'));
    expect(bucket.message).toMatch(/VERITY_BLOBS.*bucket "Not_A_Bucket"/);
    const endpoint = refusal(() => resolve({ kind: 's3', bucket: 'ok-bucket', endpoint: 'localhost:9000' }));
    expect(endpoint.message).toContain('VERITY_S3_ENDPOINT');
  });

  it('is checked with the other VERITY_* variables, naming the variable', () => {
    expect(() => readEnv({ VERITY_BLOBS: 'disk' })).toThrow(EnvError);
    expect(() => readEnv({ VERITY_BLOBS: 'disk' })).toThrow(
      "VERITY_BLOBS must be file, postgres or s3://<bucket>/<prefix>, got 'disk'",
    );
    expect(() => readEnv({ VERITY_S3_FORCE_PATH_STYLE: 'yes' })).toThrow(
      'VERITY_S3_FORCE_PATH_STYLE must be one of true, false',
    );
    expect(() => readEnv({ VERITY_S3_ENDPOINT: 'minio:9000' })).toThrow('VERITY_S3_ENDPOINT must be an http://');
    expect(readEnv({ VERITY_BLOBS: 's3://b/p', VERITY_S3_FORCE_PATH_STYLE: 'true' })).toMatchObject({
      VERITY_BLOBS: 's3://b/p',
      VERITY_S3_FORCE_PATH_STYLE: 'true',
    });
  });
});
