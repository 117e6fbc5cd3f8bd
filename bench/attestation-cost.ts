import { performance } from 'node:perf_hooks';
import { jsonDigest } from '../src/attest/digest.js';
import { IN_TOTO_PAYLOAD_TYPE, envelopeDigest, envelopePayload, signEnvelope } from '../src/attest/dsse.js';
import type { Envelope } from '../src/attest/dsse.js';
import {
  STEP_PREDICATE_TYPE,
  checkStepAttestation,
  readStatement,
  statementBytes,
  stepPredicateSchema,
  stepStatement,
} from '../src/attest/statement.js';
import type { StepPredicate } from '../src/attest/statement.js';
import { installNodeCrypto } from '../src/keys/node-crypto.js';
import { LocalSigner } from '../src/keys/local-signer.js';
import { nodeVerifyEd25519 } from '../src/keys/node-verify.js';
import { median } from './stats.js';

/**
 * What one step's attestation costs in CPU, piece by piece, with the code the worker and the coordinator
 * run (node:crypto's SHA-256 and Ed25519, as a node installs them): the floor under the attestation
 * overhead of `npm run bench`'s 10 ms steps. `npx tsx bench/attestation-cost.ts`; prints µs per step.
 */
installNodeCrypto();
const signer = LocalSigner.generate();
const output = { i: 3, ms: 10 };
const now = new Date().toISOString();
const predicate: StepPredicate = {
  executionId: '01JF3Q8ZC4X3N7W2V6B5M9K0AA',
  workflowDigest: 'a'.repeat(64),
  stepId: 's3',
  attempt: 1,
  jobId: '01JF3Q8ZC4X3N7W2V6B5M9K0AB',
  jobNonce: 'b'.repeat(32),
  inputDigest: jsonDigest(output),
  outputDigest: jsonDigest(output),
  model: { name: 'builtin/sleep', version: null, digest: null },
  executor: 'builtin',
  workerId: 'worker-1',
  workerKeyId: signer.keyId,
  startedAt: now,
  finishedAt: now,
  usage: {},
  cost: 0,
};
const bytes = statementBytes(stepStatement(predicate));
const envelope = signEnvelope(IN_TOTO_PAYLOAD_TYPE, bytes, signer);
const wire = JSON.stringify(envelope);
const signature = Buffer.from(envelope.signatures[0]!.sig, 'base64');
const expected = {
  executionId: predicate.executionId,
  workflowDigest: predicate.workflowDigest,
  stepId: predicate.stepId,
  attempt: 1,
  jobId: predicate.jobId,
  jobNonce: predicate.jobNonce,
  inputDigest: predicate.inputDigest,
  outputDigest: predicate.outputDigest,
  workerId: predicate.workerId,
  workerKeyId: signer.keyId,
};
// The coordinator gets the envelope off the wire: a fresh object each time, so no cache of a decoded payload helps.
const received = (): Envelope => JSON.parse(wire) as Envelope;

const pieces: [string, () => unknown][] = [
  ['worker: input and output digests', () => [jsonDigest(output), jsonDigest(output)]],
  ['worker: the statement, canonical JSON', () => statementBytes(stepStatement(predicate))],
  ['worker: Ed25519 signature', () => signer.sign(bytes)],
  [
    'worker: all of it (envelope)',
    () => signEnvelope(IN_TOTO_PAYLOAD_TYPE, statementBytes(stepStatement(predicate)), signer),
  ],
  ['coordinator: parse the envelope', () => received()],
  ['coordinator: Ed25519 verification', () => nodeVerifyEd25519(signer.publicKey, bytes, signature)],
  ['coordinator: payload and its digest', () => envelopeDigest(received())],
  ['coordinator: read the statement', () => readStatement(received(), STEP_PREDICATE_TYPE, stepPredicateSchema)],
  [
    'coordinator: all of it (check)',
    () => checkStepAttestation(received(), signer.publicKey, expected, nodeVerifyEd25519),
  ],
];

const ROUNDS = 7;
const N = 5_000;
console.log(`payload ${envelopePayload(envelope).length} bytes; µs per step, median of ${ROUNDS} rounds of ${N}`);
for (const [name, fn] of pieces) {
  for (let i = 0; i < 1_000; i++) await fn();
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = performance.now();
    for (let i = 0; i < N; i++) await fn();
    rounds.push(((performance.now() - start) / N) * 1000);
  }
  console.log(`${name.padEnd(42)} ${median(rounds).toFixed(1).padStart(7)}`);
}
