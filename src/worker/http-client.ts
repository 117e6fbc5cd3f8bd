import { setTimeout as sleep } from 'node:timers/promises';
import { blobDigestOf, digestOfBytes, isBlobRef } from '../blobs/blob-ref.js';
import { BlobError } from '../blobs/errors.js';
import { toBase64 } from '../attest/bytes.js';
import type { Signer } from '../attest/keys.js';
import type { Assignment, ReportOutcome } from '../coordinator/protocol.js';
import { VerityError } from '../errors.js';
import { registrationMessage } from './registration.js';
import type { WorkerClient } from './client.js';

/** How often a job's start or result is tried again when the server is briefly unavailable (about 8 s in all). */
const REPORT_RETRIES = 5;

function blobRefusal(status: number, body: Buffer, what: string): BlobError {
  let message = '';
  try {
    message = (JSON.parse(body.toString('utf8')) as { error?: { message?: string } }).error?.message ?? '';
  } catch {
    // not JSON: the status says enough
  }
  const code =
    status === 404 ? 'not_found' : status === 403 ? 'forbidden' : status === 413 ? 'too_large' : 'unavailable';
  return new BlobError(code, `blob ${what}: ${status} ${message}`.trim());
}

export type WorkerHttpErrorCode = 'http' | 'unreachable';

export class WorkerHttpError extends VerityError<WorkerHttpErrorCode> {
  constructor(
    code: WorkerHttpErrorCode,
    message: string,
    readonly status?: number,
    options: { cause?: unknown } = {},
  ) {
    super(code, message, options);
  }
}

/**
 * A worker far from the coordinator: the worker protocol over HTTP with an API key (role worker). It
 * proves possession of its Ed25519 key at registration by signing the server's challenge.
 */
export function httpWorkerClient(server: string, apiKey: string, signer: Signer): WorkerClient {
  const base = server.replace(/\/+$/, '');
  const once = async (
    path: string,
    body: unknown,
    options: { signal?: AbortSignal; timeoutMs?: number },
  ): Promise<{ status: number; body: unknown; retryAfterMs?: number }> => {
    const timeout = AbortSignal.timeout(options.timeoutMs ?? 30_000);
    let response: Response;
    try {
      response = await fetch(`${base}/v1${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body ?? {}),
        signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout,
      });
    } catch (error) {
      throw new WorkerHttpError('unreachable', `cannot reach ${base}: ${(error as Error).message}`, undefined, {
        cause: error,
      });
    }
    const text = await response.text();
    const parsed: unknown = text ? JSON.parse(text) : undefined;
    const retryAfter = Number(response.headers.get('retry-after'));
    return {
      status: response.status,
      body: parsed,
      ...(Number.isFinite(retryAfter) && retryAfter > 0 && { retryAfterMs: retryAfter * 1000 }),
    };
  };
  /**
   * A request, tried again (up to `retries` times) when the server is briefly unable to answer: rate
   * limited (429, after its Retry-After), unavailable (503), or unreachable. Reports are safe to repeat:
   * the server accepts one result per job, and a repeat of one it took is answered `already_finished`.
   */
  const call = async (
    path: string,
    body: unknown,
    options: { signal?: AbortSignal; timeoutMs?: number; retries?: number } = {},
  ): Promise<{ status: number; body: unknown }> => {
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= (options.retries ?? 0) || options.signal?.aborted === true;
      const backoffMs = Math.min(250 * 2 ** attempt, 5_000);
      let result: Awaited<ReturnType<typeof once>>;
      try {
        result = await once(path, body, options);
      } catch (error) {
        if (last || !(error instanceof WorkerHttpError)) throw error;
        await sleep(backoffMs);
        continue;
      }
      if (last || (result.status !== 429 && result.status !== 503)) return result;
      await sleep(Math.min(result.retryAfterMs ?? backoffMs, 30_000));
    }
  };
  const ok = async (
    path: string,
    body: unknown,
    accept: number[],
    options?: { signal?: AbortSignal; timeoutMs?: number },
  ) => {
    const result = await call(path, body, options);
    if (!accept.includes(result.status)) {
      const error = (result.body as { error?: { message?: string } } | undefined)?.error;
      throw new WorkerHttpError('http', `${path}: ${result.status} ${error?.message ?? ''}`.trim(), result.status);
    }
    return result;
  };
  const blobFetch = async (
    path: string,
    init: { method: string; body?: Uint8Array; headers?: Record<string, string> },
  ): Promise<Response> => {
    try {
      return await fetch(`${base}/v1${path}`, {
        ...init,
        headers: { authorization: `Bearer ${apiKey}`, ...init.headers },
        signal: AbortSignal.timeout(300_000),
      });
    } catch (error) {
      throw new BlobError('unavailable', `cannot reach ${base}: ${(error as Error).message}`, { cause: error });
    }
  };
  const outcome = async (path: string, body: unknown): Promise<ReportOutcome> => {
    const result = await call(path, body, { retries: REPORT_RETRIES });
    const answer = result.body as { accepted?: boolean; reason?: string; message?: string } | undefined;
    if (typeof answer?.accepted !== 'boolean')
      throw new WorkerHttpError('http', `${path}: ${result.status} without an outcome`, result.status);
    return answer.accepted
      ? { accepted: true }
      : ({ accepted: false, reason: answer.reason ?? 'refused', message: answer.message ?? '' } as ReportOutcome);
  };

  return {
    async register(registration) {
      const { body: challenge } = await ok('/worker/challenge', {}, [200]);
      const token = (challenge as { challenge: string }).challenge;
      const { body } = await ok(
        '/worker/register',
        {
          name: registration.name,
          publicKeyPem: registration.publicKeyPem,
          capabilities: registration.capabilities,
          concurrency: registration.concurrency,
          challenge: token,
          signature: toBase64(signer.sign(registrationMessage(token, registration.zkPublicKey))),
          ...(registration.zkPublicKey && { zkPublicKey: registration.zkPublicKey }),
        },
        [201],
      );
      return body as { workerId: string; leaseMs: number };
    },
    async claim(workerId, _capabilities, waitMs, signal) {
      if (signal.aborted) return undefined;
      try {
        // Claimed and started at once: the worker begins the moment it has the job, and saves a round trip.
        const result = await ok('/worker/claim', { workerId, waitMs, start: true }, [200, 204], {
          signal,
          timeoutMs: waitMs + 30_000,
        });
        return result.status === 200 ? (result.body as Assignment) : undefined;
      } catch (error) {
        if (signal.aborted) return undefined;
        throw error;
      }
    },
    async start(report) {
      const result = await call(
        `/worker/jobs/${encodeURIComponent(report.jobId)}/start`,
        { workerId: report.workerId, attempt: report.attempt, nonce: report.nonce },
        { retries: REPORT_RETRIES },
      );
      return result.status === 204;
    },
    async heartbeat(report) {
      const { body } = await ok(
        `/worker/jobs/${encodeURIComponent(report.jobId)}/heartbeat`,
        { workerId: report.workerId, attempt: report.attempt, nonce: report.nonce },
        [200],
      );
      return (body as { state: 'ok' | 'cancelled' | 'lost' }).state;
    },
    complete: (report) =>
      outcome(`/worker/jobs/${encodeURIComponent(report.jobId)}/complete`, {
        workerId: report.workerId,
        attempt: report.attempt,
        nonce: report.nonce,
        ...(report.outputBlob !== undefined ? { outputBlob: report.outputBlob } : { output: report.output }),
        attestation: report.attestation,
      }),
    reportZkLeaf: (report) =>
      outcome(`/worker/jobs/${encodeURIComponent(report.jobId)}/zk-leaf`, {
        workerId: report.workerId,
        attempt: report.attempt,
        nonce: report.nonce,
        publicKey: report.publicKey,
        signature: report.signature,
      }),
    fail: (report) =>
      outcome(`/worker/jobs/${encodeURIComponent(report.jobId)}/fail`, {
        workerId: report.workerId,
        attempt: report.attempt,
        nonce: report.nonce,
        error: report.error,
        ...(report.cost !== undefined && { cost: report.cost }),
      }),
    blobs: (workerId, job) => ({
      async get(ref) {
        const digest = blobDigestOf(ref);
        const response = await blobFetch(
          `/worker/jobs/${encodeURIComponent(job.jobId)}/blobs/${digest}?workerId=${encodeURIComponent(workerId)}`,
          { method: 'GET' },
        );
        const bytes = Buffer.from(await response.arrayBuffer());
        if (!response.ok) throw blobRefusal(response.status, bytes, digest);
        // The server is not trusted with the bytes either: they must be the ones the digest names.
        if (digestOfBytes(bytes) !== digest)
          throw new BlobError('corrupt', `the server sent bytes that do not match ${digest}`);
        return bytes;
      },
      async put(bytes, mediaType) {
        // For this job: the server grants the blob to it, so the job's output may name it.
        const response = await blobFetch(
          `/worker/blobs?workerId=${encodeURIComponent(workerId)}&jobId=${encodeURIComponent(job.jobId)}`,
          { method: 'POST', body: bytes, headers: { 'content-type': mediaType } },
        );
        const body = Buffer.from(await response.arrayBuffer());
        if (response.status !== 201) throw blobRefusal(response.status, body, 'a new blob');
        const ref: unknown = JSON.parse(body.toString('utf8'));
        if (!isBlobRef(ref))
          throw new BlobError('unavailable', 'the server answered a blob upload without a blob reference');
        return ref;
      },
    }),
    async seen(workerId) {
      await ok('/worker/seen', { workerId }, [204]);
    },
    async deregister(workerId) {
      await ok('/worker/deregister', { workerId }, [204]);
    },
  };
}
