import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { blobDigestsIn } from '../../blobs/blob-ref.js';
import { BlobError } from '../../blobs/errors.js';
import { executionOwnerMayRead, jobPrincipal } from '../../blobs/grants.js';
import { LEASED_JOB_STATUSES } from '../../store/records.js';
import { ownRemoteWorker } from '../access.js';
import { receiveUpload } from '../blob-upload.js';
import { lingerAfterAnswer } from '../lingering-close.js';
import { CLIENT_ROLES, principalOf } from '../auth.js';
import { ApiError } from '../errors.js';
import { blobDigest, blobRef, errorBody } from '../schemas.js';
import type { ApiContext } from '../server.js';

const tags = ['blobs'];

/** The image types a browser decodes as pixels only, safe to show inline from this origin. */
const RASTER_IMAGES: ReadonlySet<string> = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/** `Image/PNG; charset=x` → `image/png`. */
function baseType(mediaType: string): string {
  return (mediaType.split(';')[0] ?? '').trim().toLowerCase();
}

const digestParam = z.strictObject({ digest: blobDigest });
const workerQuery = z.strictObject({ workerId: z.string().min(1).max(100) });
const workerUploadQuery = workerQuery.extend({ jobId: z.string().min(1).max(100) });

/**
 * Blobs over HTTP: images, trained models and large outputs, by digest. A client reads only what it
 * uploaded or what its executions produced; a worker reads only the blobs the input of a job it holds
 * names, and uploads what its steps produce. Bytes stream both ways (an upload to a file as it arrives,
 * a download from its file), so a blob's size never becomes the server's memory; they are checked against
 * their digest on the way out.
 */
export function registerBlobRoutes(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;

  const send = async (reply: FastifyReply, digest: string): Promise<FastifyReply> => {
    const record = await node.store.read.getBlob(digest);
    let blob;
    try {
      blob = await node.blobs.stream(digest);
    } catch (error) {
      if (error instanceof BlobError && error.code === 'not_found')
        throw new ApiError('not_found', `no blob ${digest}`);
      throw error;
    }
    const mediaType = record?.mediaType ?? 'application/octet-stream';
    return (
      reply
        .code(200)
        .header('content-type', mediaType)
        .header('content-length', blob.size)
        // A blob is whatever its uploader sent, under the dashboard's origin: a browser must never sniff it
        // into something else, run it or render it as a page. Raster images are shown inline (they carry
        // no script); anything else (HTML, SVG, PDF, …) is a download, and sandboxed if opened anyway.
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', "default-src 'none'; sandbox")
        .header('content-disposition', RASTER_IMAGES.has(baseType(mediaType)) ? 'inline' : 'attachment')
        .header('cache-control', 'private, max-age=31536000, immutable')
        .send(blob.stream)
    );
  };

  // Raw bytes of any type, only in this plugin, passed through as the request's stream (receiveUpload
  // enforces the size as they arrive): the JSON routes keep refusing what is not JSON, with their body limit.
  void app.register((raw, _options, done) => {
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('*', (_request, payload, parsed) => parsed(null, payload));
    // A refusal (413, 429, 401, 404) answered while the body is still arriving closes without a reset.
    raw.addHook('onSend', (request, reply, payload, done) => {
      if (!request.raw.complete) {
        void reply.header('connection', 'close');
        lingerAfterAnswer(request.raw);
      }
      done(null, payload);
    });
    const api = raw.withTypeProvider<ZodTypeProvider>();

    api.post('/blobs', {
      config: { roles: CLIENT_ROLES },
      schema: {
        operationId: 'uploadBlob',
        tags,
        summary: 'Upload a blob (an image, a document): the raw bytes, with their Content-Type',
        description:
          "Answers the reference to put in an execution's inputs. Uploading the same bytes again answers the same reference. 413 over the largest blob; 429 (quota blob_bytes) past the bytes one principal may upload.",
        response: { 201: blobRef, 400: errorBody, 413: errorBody, 429: errorBody },
      },
      handler: async (request, reply) => {
        const key = principalOf(request);
        const ref = await receiveUpload(request, context, (tx, stored, now) =>
          tx.grantBlobs(
            [{ digest: stored.$blob, size: stored.size, mediaType: stored.mediaType, createdAt: now }],
            key.principal,
            now,
          ),
        );
        return reply.code(201).send(ref);
      },
    });

    api.post('/worker/blobs', {
      config: { roles: ['worker'] },
      schema: {
        operationId: 'workerUploadBlob',
        tags: ['worker protocol'],
        summary: 'A worker uploads a blob its step produced (before reporting the result that names it)',
        description:
          "jobId names the job the blob is for, one this worker holds; the blob is granted to that job, so its result may name it (and only then does the execution's owner get it). A job of another worker is a 404, like one that does not exist. 413 over the largest blob; 429 (quota blob_bytes) past the bytes one principal may upload.",
        querystring: workerUploadQuery,
        response: { 201: blobRef, 400: errorBody, 404: errorBody, 413: errorBody, 429: errorBody },
      },
      handler: async (request, reply) => {
        const worker = await ownRemoteWorker(request, context, request.query.workerId);
        const { jobId } = request.query;
        const job = await node.store.read.getJob(jobId);
        // The same answer for a job that does not exist and another worker's: job ids cannot be probed.
        if (!job || job.workerId !== worker.id || !LEASED_JOB_STATUSES.includes(job.status)) {
          throw new ApiError(
            'not_found',
            `query.jobId: no job ${jobId} that this worker holds; upload a step's blobs while its job is assigned to you`,
          );
        }
        // Granted to the job in the transaction that records the upload, as grantToJob does in-process.
        const ref = await receiveUpload(request, context, (tx, stored, now) =>
          tx.grantBlobs(
            [{ digest: stored.$blob, size: stored.size, mediaType: stored.mediaType, createdAt: now }],
            jobPrincipal(job.id),
            now,
          ),
        );
        return reply.code(201).send(ref);
      },
    });
    done();
  });

  const api = app.withTypeProvider<ZodTypeProvider>();
  api.get('/blobs/:digest', {
    config: { roles: CLIENT_ROLES },
    schema: {
      operationId: 'downloadBlob',
      tags,
      summary: 'Download a blob you uploaded or one of your executions produced',
      params: digestParam,
      response: { 200: z.any(), 404: errorBody },
    },
    handler: async (request, reply) => {
      const key = principalOf(request);
      const digest = request.params.digest;
      // Someone else's blob is a 404, like one that does not exist: digests cannot be probed.
      if (key.role !== 'admin' && !(await node.store.read.hasBlobGrant(digest, key.principal)))
        throw new ApiError('not_found', `no blob ${digest}`);
      return send(reply, digest);
    },
  });

  api.get('/worker/jobs/:jobId/blobs/:digest', {
    config: { roles: ['worker'] },
    schema: {
      operationId: 'workerDownloadBlob',
      tags: ['worker protocol'],
      summary: 'A worker reads a blob that the input of a job it holds names',
      params: digestParam.extend({ jobId: z.string().min(1).max(100) }),
      querystring: workerQuery,
      response: { 200: z.any(), 404: errorBody },
    },
    handler: async (request, reply) => {
      const worker = await ownRemoteWorker(request, context, request.query.workerId);
      const { jobId, digest } = request.params;
      const job = await node.store.read.getJob(jobId);
      const held = job !== undefined && job.workerId === worker.id && LEASED_JOB_STATUSES.includes(job.status);
      // Named by the job's input, and readable by the execution's owner: a digest a workflow expression
      // made up does not open another client's blob.
      if (
        !held ||
        !blobDigestsIn(job.input).has(digest) ||
        !(await executionOwnerMayRead(node.store, job.executionId, digest))
      ) {
        throw new ApiError('not_found', `no blob ${digest} in the input of a job this worker holds`);
      }
      return send(reply, digest);
    },
  });
}
