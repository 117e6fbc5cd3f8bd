import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream';
import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { BlobRef } from '../blob-ref.js';
import { blobDigestOf } from '../blob-ref.js';
import type { BlobStore, StagedBlob } from '../blob-store.js';
import { DEFAULT_MAX_BLOB_BYTES } from '../blob-store.js';
import { DigestCheck, checkPutSize, checkedBytes, refOf } from '../digest-check.js';
import { BlobError } from '../errors.js';
import { receiveStaged, removeStaleFiles } from '../staging.js';
import { normalizePrefix } from './s3-prefix.js';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3BlobStoreOptions {
  bucket: string;
  /** Put before every key (`verity/` → `verity/sha256/<hex>`); '' for none. */
  prefix: string;
  region: string;
  /** An S3-compatible server's URL (MinIO, R2, a local one); none for AWS itself. */
  endpoint?: string | undefined;
  /** Bucket in the path (`<endpoint>/<bucket>/<key>`) rather than in the host name: what most S3-compatible servers want. */
  forcePathStyle: boolean;
  /** None: the AWS SDK's own chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, an instance role). */
  credentials?: S3Credentials | undefined;
  /** Where uploads are received before their digest is known: a local directory of this process. */
  stagingDir: string;
  /** The largest blob accepted, in bytes. Default: 256 MiB. */
  maxBytes?: number;
}

/**
 * Blob bytes as objects of an S3-compatible bucket, `<prefix>sha256/<hex>`: for replicas that share no
 * disk, with blobs too many or too large for the database. Objects are immutable once written (the key is
 * the digest of the bytes), so two replicas writing the same blob write the same object. Every write sends
 * the payload's SHA-256 as its signed `x-amz-content-sha256`, which is the blob's own digest: S3 refuses
 * bytes that arrive changed. Every read is checked against the digest again, since a bucket can be written
 * by others.
 */
export class S3BlobStore implements BlobStore {
  readonly kind = 's3';
  readonly location: string;
  readonly maxBytes: number;
  private readonly client: S3Client;
  private readonly prefix: string;

  private constructor(private readonly options: S3BlobStoreOptions) {
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BLOB_BYTES;
    this.prefix = normalizePrefix(options.prefix);
    this.location = `s3://${options.bucket}/${this.prefix}${options.endpoint ? ` at ${options.endpoint}` : ''}`;
    this.client = new S3Client({
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      ...(options.endpoint !== undefined && { endpoint: options.endpoint }),
      ...(options.credentials !== undefined && { credentials: options.credentials }),
      // The SDK's default (a CRC32 of every body, sent as an aws-chunked trailer) is not understood by every
      // S3-compatible server; the signed SHA-256 of the payload already protects each write, and each read
      // is checked against the blob's digest.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  /** Opens the store and checks that the bucket answers, so a wrong bucket or key fails at start, not at the first blob. */
  static async open(options: S3BlobStoreOptions): Promise<S3BlobStore> {
    const store = new S3BlobStore(options);
    try {
      await store.client.send(new HeadBucketCommand({ Bucket: options.bucket }));
    } catch (error) {
      store.client.destroy();
      throw new BlobError(
        'unavailable',
        `the S3 blob store cannot use bucket "${options.bucket}"${options.endpoint ? ` at ${options.endpoint}` : ''}: ${describeS3Error(error)}; check VERITY_BLOBS, VERITY_S3_ENDPOINT, VERITY_S3_REGION and the AWS credentials`,
        { cause: error },
      );
    }
    return store;
  }

  private keyOf(digest: string): string {
    return `${this.prefix}sha256/${digest.slice('sha256:'.length)}`;
  }

  async put(bytes: Uint8Array, mediaType: string): Promise<BlobRef> {
    checkPutSize(bytes, this.maxBytes);
    const ref = refOf(bytes, mediaType);
    if (!(await this.has(ref.$blob))) await this.write(ref.$blob, ref.size, bytes);
    return ref;
  }

  private async write(digest: string, size: number, body: Uint8Array | Readable): Promise<void> {
    const command = new PutObjectCommand({
      Bucket: this.options.bucket,
      Key: this.keyOf(digest),
      Body: body,
      ContentLength: size,
      // The media type is the store's to say (the same bytes may be uploaded under two); this is only bytes.
      ContentType: 'application/octet-stream',
    });
    // Signed as the payload's hash, so the server checks the bytes it receives against the digest.
    command.middlewareStack.add(
      (next) => (args) => {
        const request = args.request as { headers?: Record<string, string> };
        if (request.headers) request.headers['x-amz-content-sha256'] = digest.slice('sha256:'.length);
        return next(args);
      },
      { step: 'build', name: 'verityPayloadDigest' },
    );
    try {
      await this.client.send(command);
    } catch (error) {
      throw new BlobError('unavailable', `cannot store blob ${digest} in ${this.location}: ${describeS3Error(error)}`, {
        cause: error,
      });
    }
  }

  async receive(source: Readable, options: { maxBytes?: number } = {}): Promise<StagedBlob> {
    return receiveStaged(source, this.options.stagingDir, Math.min(options.maxBytes ?? this.maxBytes, this.maxBytes), {
      has: (digest) => this.has(digest),
      store: (staged) => this.write(staged.digest, staged.size, createReadStream(staged.path)),
    });
  }

  removeStaleUploads(olderThanMs = 60 * 60_000, now = Date.now()): Promise<number> {
    return removeStaleFiles(this.options.stagingDir, olderThanMs, now);
  }

  private async object(ref: BlobRef | string): Promise<{ digest: string; size: number; body: Readable }> {
    const digest = blobDigestOf(ref);
    try {
      const answer = await this.client.send(
        new GetObjectCommand({ Bucket: this.options.bucket, Key: this.keyOf(digest) }),
      );
      const body = answer.Body as Readable;
      const size = answer.ContentLength ?? 0;
      // Larger than any blob this store writes: another writer of the bucket put it there. Refused before a
      // byte of it is read, so a planted object cannot make a reader hold or hash gigabytes.
      if (size > this.maxBytes) {
        body.destroy();
        throw new BlobError(
          'corrupt',
          `blob ${digest} in ${this.location} is ${size} bytes, over the ${this.maxBytes} this store ever writes; it was changed, so it is not served`,
        );
      }
      return { digest, size, body };
    } catch (error) {
      if (error instanceof BlobError) throw error;
      if (isMissing(error)) throw new BlobError('not_found', `no blob ${digest}`);
      throw new BlobError(
        'unavailable',
        `cannot read blob ${digest} from ${this.location}: ${describeS3Error(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  async stream(ref: BlobRef | string): Promise<{ size: number; stream: Readable }> {
    const { digest, size, body } = await this.object(ref);
    const check = new DigestCheck(digest, `its object ${this.keyOf(digest)} in ${this.location}`);
    pipeline(body, check, () => undefined);
    return { size, stream: check };
  }

  async get(ref: BlobRef | string): Promise<Buffer> {
    const { digest, body } = await this.object(ref);
    const chunks: Buffer[] = [];
    let received = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        received += chunk.byteLength;
        // An answer longer than its declared length is not this store's blob either.
        if (received > this.maxBytes) {
          body.destroy();
          throw new BlobError(
            'corrupt',
            `blob ${digest} in ${this.location} is longer than any blob this store writes`,
          );
        }
        chunks.push(chunk);
      }
    } catch (error) {
      if (error instanceof BlobError) throw error;
      throw new BlobError(
        'unavailable',
        `cannot read blob ${digest} from ${this.location}: ${describeS3Error(error)}`,
        {
          cause: error,
        },
      );
    }
    return checkedBytes(Buffer.concat(chunks), digest, `its object ${this.keyOf(digest)} in ${this.location}`);
  }

  async has(ref: BlobRef | string): Promise<boolean> {
    return (await this.size(ref)) !== undefined;
  }

  async size(ref: BlobRef | string): Promise<number | undefined> {
    const digest = blobDigestOf(ref);
    try {
      const head = await this.client.send(
        new HeadObjectCommand({ Bucket: this.options.bucket, Key: this.keyOf(digest) }),
      );
      return head.ContentLength;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw new BlobError(
        'unavailable',
        `cannot look up blob ${digest} in ${this.location}: ${describeS3Error(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  close(): Promise<void> {
    this.client.destroy();
    return Promise.resolve();
  }
}

function isMissing(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}

/**
 * The S3 error's name, status and message. An answer to HEAD has no body, so the SDK can only say
 * "UnknownError": then the status says what happened.
 */
function describeS3Error(error: unknown): string {
  const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  const message = e.message && e.message !== 'UnknownError' ? e.message : (STATUS_MEANING[status ?? 0] ?? 'no details');
  return `${e.name ?? 'Error'}${status !== undefined ? ` (HTTP ${status})` : ''}: ${message}`;
}

const STATUS_MEANING: Record<number, string> = {
  301: 'the bucket is in another region (set VERITY_S3_REGION)',
  400: 'the request was refused (check the region and the endpoint)',
  403: 'access denied (check the credentials and the bucket policy)',
  404: 'it does not exist',
};
