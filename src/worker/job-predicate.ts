import { jsonDigest } from '../attest/digest.js';
import type { StepPredicate } from '../attest/statement.js';
import type { Assignment } from '../coordinator/protocol.js';

/** What a worker says about its run of a job, beyond what the job itself fixes. */
export type RunFacts = Omit<
  StepPredicate,
  'executionId' | 'workflowDigest' | 'stepId' | 'attempt' | 'jobId' | 'jobNonce' | 'inputDigest'
>;

/**
 * The step predicate a worker signs for a job: the job's own fields (with the coordinator's nonce, and the
 * digest of the input as the worker received it, computed here rather than taken on the coordinator's
 * word) and the facts of the run.
 */
export function jobPredicate(job: Assignment, facts: RunFacts): StepPredicate {
  return {
    executionId: job.executionId,
    workflowDigest: job.spec.workflowDigest,
    stepId: job.stepId,
    attempt: job.attempt,
    jobId: job.jobId,
    jobNonce: job.nonce,
    inputDigest: jsonDigest(job.input),
    ...facts,
  };
}
