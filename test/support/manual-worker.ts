import type { Envelope } from '../../src/attest/dsse.js';
import type { StepPredicate } from '../../src/attest/statement.js';
import { attestJob } from './attestation.js';
import type { Coordinator, NextJob } from '../../src/coordinator/coordinator.js';
import type { Assignment, ReportOutcome } from '../../src/coordinator/protocol.js';
import { LocalSigner } from '../../src/keys/local-signer.js';
import type { Capabilities } from '../../src/store/records.js';

/**
 * A worker driven by hand through the coordinator's protocol, as a remote worker would drive it: it has
 * its own key, registers, claims, and attests its results. Tests use it to send reports a well-behaved
 * worker would not.
 */
export class ManualWorker {
  readonly signer = LocalSigner.generate();
  id = '';

  constructor(
    private readonly coordinator: Coordinator,
    readonly capabilities: Capabilities,
    private readonly name = 'manual',
    /** 'local': registered as one of the coordinator's own in-process workers (what a job may be handed to). */
    private readonly kind: 'local' | 'remote' = 'remote',
  ) {}

  async register(): Promise<this> {
    const record = await this.coordinator.registerWorker({
      name: this.name,
      kind: this.kind,
      capabilities: this.capabilities,
      concurrency: 1,
      publicKeyPem: this.signer.publicKeyPem,
    });
    this.id = record.id;
    return this;
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
      { executor: 'manual', workerId: this.id, workerKeyId: signer.keyId, cost: job.maxCost },
      signer,
      over,
    );
  }

  complete(
    job: Assignment,
    output: unknown,
    options: { workerId?: string; attempt?: number; nonce?: string; jobId?: string; attestation?: Envelope } = {},
    /** As an in-process slot that claims again after reporting (the coordinator may hand it the next job). */
    next?: NextJob,
  ): Promise<ReportOutcome> {
    return this.coordinator.complete(
      {
        jobId: options.jobId ?? job.jobId,
        workerId: options.workerId ?? this.id,
        attempt: options.attempt ?? job.attempt,
        nonce: options.nonce ?? job.nonce,
        output,
        attestation: options.attestation ?? this.attest(job, output),
      },
      next,
    );
  }
}
