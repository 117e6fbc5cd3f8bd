import { toBase64 } from '../../src/attest/bytes.js';
import type { Envelope } from '../../src/attest/dsse.js';
import type { StepPredicate } from '../../src/attest/statement.js';
import { attestJob } from './attestation.js';
import type { Assignment } from '../../src/coordinator/protocol.js';
import { LocalSigner } from '../../src/keys/local-signer.js';
import { registrationMessage } from '../../src/worker/registration.js';
import { call } from './api-http.js';
import type { RawResponse } from './api-http.js';

/**
 * A remote worker driven by hand over HTTP, call by call, as `verity worker` speaks the protocol
 * (src/worker/http-client.ts), so tests can send what an honest worker would not and see the raw answers.
 */
export class HttpWorker {
  readonly signer = LocalSigner.generate();
  id = '';

  constructor(
    readonly url: string,
    readonly apiKey: string,
    readonly capabilities: { stepTypes: string[]; models: string[] } = {
      stepTypes: ['inference', 'data_processing'],
      models: ['builtin/echo'],
    },
  ) {}

  post(path: string, json: unknown): Promise<RawResponse> {
    return call(this.url, 'POST', `/v1${path}`, { key: this.apiKey, json });
  }

  async challenge(): Promise<string> {
    const response = await this.post('/worker/challenge', {});
    if (response.status !== 200) throw new Error(`challenge: ${response.status} ${response.text}`);
    return (response.json as { challenge: string }).challenge;
  }

  /** The registration body an honest worker sends for this challenge; `over` changes it. */
  registration(
    challenge: string,
    over: Record<string, unknown> = {},
    signer: LocalSigner = this.signer,
  ): Record<string, unknown> {
    return {
      name: 'manual-http',
      publicKeyPem: this.signer.publicKeyPem,
      capabilities: this.capabilities,
      concurrency: 1,
      challenge,
      signature: toBase64(signer.sign(registrationMessage(challenge))),
      ...over,
    };
  }

  async register(): Promise<this> {
    const response = await this.post('/worker/register', this.registration(await this.challenge()));
    if (response.status !== 201) throw new Error(`register: ${response.status} ${response.text}`);
    this.id = (response.json as { workerId: string }).workerId;
    return this;
  }

  /** Claims a job, waiting up to waitMs; undefined when none came. */
  async claim(waitMs = 5_000, options: { start?: boolean } = {}): Promise<Assignment | undefined> {
    const response = await this.post('/worker/claim', {
      workerId: this.id,
      waitMs,
      ...(options.start !== undefined && { start: options.start }),
    });
    if (response.status === 204) return undefined;
    if (response.status !== 200) throw new Error(`claim: ${response.status} ${response.text}`);
    return response.json as Assignment;
  }

  /** Claims until a job of this execution comes (others' jobs are a test bug). */
  async claimJob(executionId: string, waitMs = 10_000, options: { start?: boolean } = {}): Promise<Assignment> {
    const job = await this.claim(waitMs, options);
    if (!job) throw new Error(`no job for worker ${this.id} within ${waitMs} ms`);
    if (job.executionId !== executionId)
      throw new Error(`worker ${this.id} claimed a job of ${job.executionId}, not ${executionId}`);
    return job;
  }

  /** The attestation an honest worker would sign for this job and output; `over` changes fields of it. */
  attest(
    job: Assignment,
    output: unknown,
    over: Partial<StepPredicate> = {},
    signer: LocalSigner = this.signer,
  ): Envelope {
    return attestJob(
      job,
      output,
      { executor: 'manual-http', workerId: this.id, workerKeyId: this.signer.keyId, cost: 0 },
      signer,
      over,
    );
  }

  /** The report body an honest worker sends for this job; `over` changes it. */
  report(job: Assignment, over: Record<string, unknown> = {}): Record<string, unknown> {
    return { workerId: this.id, attempt: job.attempt, nonce: job.nonce, ...over };
  }

  start(job: Assignment, over: Record<string, unknown> = {}, jobId = job.jobId): Promise<RawResponse> {
    return this.post(`/worker/jobs/${encodeURIComponent(jobId)}/start`, this.report(job, over));
  }

  heartbeat(job: Assignment, over: Record<string, unknown> = {}, jobId = job.jobId): Promise<RawResponse> {
    return this.post(`/worker/jobs/${encodeURIComponent(jobId)}/heartbeat`, this.report(job, over));
  }

  /** Completes a job: by default honestly, with the job's input as output (what builtin/echo does). */
  complete(
    job: Assignment,
    options: { output?: unknown; attestation?: Envelope; report?: Record<string, unknown>; jobId?: string } = {},
  ): Promise<RawResponse> {
    const output = 'output' in options ? options.output : job.input;
    const attestation = options.attestation ?? this.attest(job, output);
    return this.post(`/worker/jobs/${encodeURIComponent(options.jobId ?? job.jobId)}/complete`, {
      ...this.report(job, options.report),
      output,
      attestation,
    });
  }

  fail(job: Assignment, over: Record<string, unknown> = {}, jobId = job.jobId): Promise<RawResponse> {
    return this.post(`/worker/jobs/${encodeURIComponent(jobId)}/fail`, {
      ...this.report(job, over),
      error: { code: 'failed', message: 'made up', retryable: false },
    });
  }
}
