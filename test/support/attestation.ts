import { jsonDigest } from '../../src/attest/digest.js';
import { IN_TOTO_PAYLOAD_TYPE, signEnvelope } from '../../src/attest/dsse.js';
import type { Envelope } from '../../src/attest/dsse.js';
import { statementBytes, stepStatement } from '../../src/attest/statement.js';
import type { StepPredicate } from '../../src/attest/statement.js';
import type { Assignment } from '../../src/coordinator/protocol.js';
import type { LocalSigner } from '../../src/keys/local-signer.js';
import { jobPredicate } from '../../src/worker/job-predicate.js';

/**
 * The attestation an honest worker would sign for a job and its output, for the hand-driven workers of
 * the tests; `over` changes fields of the statement (to forge one) and `signer` may be another key.
 */
export function attestJob(
  job: Assignment,
  output: unknown,
  worker: { executor: string; workerId: string; workerKeyId: string; cost: number },
  signer: LocalSigner,
  over: Partial<StepPredicate> = {},
): Envelope {
  const now = new Date().toISOString();
  const statement = stepStatement({
    ...jobPredicate(job, {
      outputDigest: jsonDigest(output),
      model: job.spec.model
        ? { name: job.spec.model.name, version: job.spec.model.version ?? null, digest: job.spec.model.digest ?? null }
        : null,
      executor: worker.executor,
      workerId: worker.workerId,
      workerKeyId: worker.workerKeyId,
      startedAt: now,
      finishedAt: now,
      usage: {},
      cost: worker.cost,
    }),
    ...over,
  });
  return signEnvelope(IN_TOTO_PAYLOAD_TYPE, statementBytes(statement), signer);
}
