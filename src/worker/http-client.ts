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
/** How long a heartbeat may take before the replica counts as gone and the next one is asked. */
const HEARTBEAT_TIMEOUT_MS = 4_000;

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

export type WorkerHttpErrorCode = 'http' | 'unreachable' | 'usage';

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

/** Answers that say this replica cannot serve now (it is failing, restarting, or a proxy lost it): try another. */
const REPLICA_FAILURE = new Set([500, 502, 503, 504]);
/** Of those, the ones worth asking again after a pause when every replica gave them (a bug's 500 is not). */
const TRANSIENT = new Set([502, 503, 504]);

export interface HttpWorkerClientOptions {
  /** Told each time the client leaves a replica for the next one, and why. Default: ignored. */
  onFailover?: (from: string, to: string, reason: string) => void;
  /** Told each time no replica could answer and the client pauses before asking them all again. Default: ignored. */
  onPause?: (ms: number, reason: string) => void;
}

/** The server URLs a worker was given (`--server URL1,URL2`): each an http(s) URL, no repeats, at least one. */
export function parseServerList(servers: string | readonly string[], what = 'server'): string[] {
  const list = (typeof servers === 'string' ? servers.split(',') : servers)
    .map((s) => s.trim().replace(/\/+$/, ''))
    .filter((s) => s !== '');
  if (list.length === 0) throw new WorkerHttpError('usage', `${what}: give at least one server URL`);
  for (const url of list) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new WorkerHttpError('usage', `${what}: "${url}" is not a URL; give http(s)://host:port, comma-separated`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      throw new WorkerHttpError('usage', `${what}: "${url}" is not an http(s) URL`);
  }
  if (new Set(list).size !== list.length) throw new WorkerHttpError('usage', `${what}: a URL is given twice`);
  return list;
}

/**
 * A worker far from the coordinator: the worker protocol over HTTP with an API key (role worker). It
 * proves possession of its Ed25519 key at registration by signing the server's challenge.
 *
 * Given several servers (replicas on one database), it talks to one at a time and, the moment that one
 * stops answering (refused, timed out, or a 5xx), moves on to the next: replicas share the database, so
 * the worker's registration, its jobs and its reports are good on any of them, and a result that one
 * replica did not acknowledge is sent to another (the server keeps one result per job; a repeat is
 * answered `already_finished`). It never waits for a dead replica to come back while another answers.
 */
export function httpWorkerClient(
  servers: string | readonly string[],
  apiKey: string,
  signer: Signer,
  clientOptions: HttpWorkerClientOptions = {},
): WorkerClient {
  const bases = parseServerList(servers);
  /** The replica in use; every request starts there. */
  let current = 0;
  /** Leaves replica `index` for the next, unless a concurrent request already did. */
  const moveOn = (index: number, reason: string) => {
    if (current !== index || bases.length === 1) return;
    current = (index + 1) % bases.length;
    clientOptions.onFailover?.(bases[index]!, bases[current]!, reason);
  };
  const once = async (
    base: string,
    path: string,
    body: unknown,
    options: { signal?: AbortSignal; timeoutMs?: number },
  ): Promise<{ status: number; body: unknown; retryAfterMs?: number }> => {
    const timeout = AbortSignal.timeout(options.timeoutMs ?? 30_000);
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${base}/v1${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body ?? {}),
        signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout,
      });
      // A replica killed mid-answer cuts the body short: that is unreachable too, not a bad answer.
      text = await response.text();
    } catch (error) {
      throw new WorkerHttpError('unreachable', `cannot reach ${base}: ${(error as Error).message}`, undefined, {
        cause: error,
      });
    }
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON (a proxy's error page): the status says what happened.
      parsed = undefined;
    }
    const retryAfter = Number(response.headers.get('retry-after'));
    return {
      status: response.status,
      body: parsed,
      ...(Number.isFinite(retryAfter) && retryAfter > 0 && { retryAfterMs: retryAfter * 1000 }),
    };
  };
  /**
   * A request to the replica in use, moved on at once to the next one when it does not answer or answers
   * 5xx; after a round of every replica, tried again (up to `retries` rounds, with a growing pause) when
   * none could answer: rate limited (429, after its Retry-After), unavailable (502–504), or unreachable.
   * Reports are safe to repeat: the server accepts one result per job, and a repeat of one it took is
   * answered `already_finished`.
   */
  const call = async (
    path: string,
    body: unknown,
    options: { signal?: AbortSignal; timeoutMs?: number; retries?: number } = {},
  ): Promise<{ status: number; body: unknown }> => {
    for (let round = 0; ; round++) {
      const last = round >= (options.retries ?? 0) || options.signal?.aborted === true;
      const backoffMs = Math.min(250 * 2 ** round, 5_000);
      let failure: WorkerHttpError | Awaited<ReturnType<typeof once>> | undefined;
      for (let tried = 0; tried < bases.length; tried++) {
        const index = current;
        let result: Awaited<ReturnType<typeof once>>;
        try {
          result = await once(bases[index]!, path, body, options);
        } catch (error) {
          if (!(error instanceof WorkerHttpError) || error.code !== 'unreachable' || options.signal?.aborted)
            throw error;
          failure = error;
          moveOn(index, error.message);
          continue;
        }
        if (result.status === 429) {
          // Rate limited: this replica answers, so wait as it asks rather than shift the load elsewhere.
          failure = result;
          break;
        }
        if (!REPLICA_FAILURE.has(result.status)) return result;
        failure = result;
        moveOn(index, `${path}: ${result.status}`);
      }
      if (failure instanceof WorkerHttpError) {
        if (last) throw failure;
        clientOptions.onPause?.(backoffMs, failure.message);
        await sleep(backoffMs);
      } else if (failure !== undefined) {
        if (last || (failure.status !== 429 && !TRANSIENT.has(failure.status))) return failure;
        const pauseMs = Math.min(failure.retryAfterMs ?? backoffMs, 30_000);
        clientOptions.onPause?.(pauseMs, `${path}: ${failure.status}`);
        await sleep(pauseMs);
      }
    }
  };
  const ok = async (
    path: string,
    body: unknown,
    accept: number[],
    options?: { signal?: AbortSignal; timeoutMs?: number; retries?: number },
  ) => {
    const result = await call(path, body, options);
    if (!accept.includes(result.status)) {
      const error = (result.body as { error?: { message?: string } } | undefined)?.error;
      throw new WorkerHttpError('http', `${path}: ${result.status} ${error?.message ?? ''}`.trim(), result.status);
    }
    return result;
  };
  /** A blob request, on the replica in use and then on each other one while they fail (blobs are shared). */
  const blobFetch = async (
    path: string,
    init: { method: string; body?: Uint8Array; headers?: Record<string, string> },
  ): Promise<Response> => {
    let failure: unknown;
    for (let tried = 0; tried < bases.length; tried++) {
      const index = current;
      try {
        const response = await fetch(`${bases[index]}/v1${path}`, {
          ...init,
          headers: { authorization: `Bearer ${apiKey}`, ...init.headers },
          signal: AbortSignal.timeout(300_000),
        });
        if (!REPLICA_FAILURE.has(response.status) || tried === bases.length - 1) return response;
        await response.body?.cancel();
        moveOn(index, `${path}: ${response.status}`);
      } catch (error) {
        failure = error;
        moveOn(index, (error as Error).message);
      }
    }
    throw new BlobError('unavailable', `cannot reach ${bases.join(' or ')}: ${(failure as Error).message}`, {
      cause: failure,
    });
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
      for (let attempt = 1; ; attempt++) {
        const { body: challenge } = await ok('/worker/challenge', {}, [200], { retries: REPORT_RETRIES });
        const token = (challenge as { challenge: string }).challenge;
        const result = await call(
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
          { retries: REPORT_RETRIES },
        );
        if (result.status === 201) return result.body as { workerId: string; leaseMs: number };
        const message = (result.body as { error?: { message?: string } } | undefined)?.error?.message ?? '';
        // A replica that took the registration and died before answering: the challenge is spent, so the
        // repeat sent to another replica is refused. A new challenge registers anew.
        if (result.status === 403 && /used already/.test(message) && attempt < 3) continue;
        throw new WorkerHttpError('http', `/worker/register: ${result.status} ${message}`.trim(), result.status);
      }
    },
    async claim(workerId, _capabilities, waitMs, signal) {
      if (signal.aborted) return undefined;
      try {
        // Claimed and started at once: the worker begins the moment it has the job, and saves a round trip.
        const result = await ok('/worker/claim', { workerId, waitMs, start: true }, [200, 204], {
          signal,
          // Past the wait, a little slack: a replica cut off by the network is left for the next soon.
          timeoutMs: waitMs + 5_000,
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
        // Well inside a lease (heartbeats come every third of one): a silent replica must not cost the job.
        { timeoutMs: HEARTBEAT_TIMEOUT_MS },
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
