/**
 * Writes shared-vectors.json: known answers of the TypeScript attest code that every other implementation of
 * the worker side (python/) must reproduce byte for byte. Run once with `npx tsx test/vectors/generate.ts`
 * after a deliberate format change; test/unit/attest/shared-vectors.test.ts holds the TypeScript code to the
 * committed file, and python/tests/ holds the Python worker to it.
 */
import { createPrivateKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { toBase64, toHex, utf8 } from '../../src/attest/bytes.js';
import { canonicalJson } from '../../src/attest/canonical.js';
import { jsonDigest } from '../../src/attest/digest.js';
import { IN_TOTO_PAYLOAD_TYPE, pae, signEnvelope } from '../../src/attest/dsse.js';
import { keyIdOf, publicKeyToPem } from '../../src/attest/keys.js';
import { statementBytes, stepStatement } from '../../src/attest/statement.js';
import type { Assignment } from '../../src/coordinator/protocol.js';
import { LocalSigner } from '../../src/keys/local-signer.js';
import { registrationMessage } from '../../src/worker/registration.js';
import { jobPredicate } from '../../src/worker/job-predicate.js';
import type { RunFacts } from '../../src/worker/job-predicate.js';

export function signerFromSeed(seed: string): LocalSigner {
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seed, 'hex')]);
  return new LocalSigner(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
}

/** A deterministic stream of doubles (xorshift over 64-bit patterns), so the file is the same on every run. */
function doubleBits(count: number): string[] {
  let state = 0x9e3779b97f4a7c15n;
  const mask = (1n << 64n) - 1n;
  const out: string[] = [];
  const view = new DataView(new ArrayBuffer(8));
  while (out.length < count) {
    state ^= (state << 13n) & mask;
    state ^= state >> 7n;
    state ^= (state << 17n) & mask;
    view.setBigUint64(0, state);
    if (Number.isFinite(view.getFloat64(0))) out.push(state.toString(16).padStart(16, '0'));
  }
  return out;
}

const EDGE_BITS = [
  '0000000000000000',
  '8000000000000000',
  '0000000000000001',
  '8000000000000001',
  '7fefffffffffffff',
  '4340000000000000',
  '4430000000000000',
  '44b52d02c7e14af5',
  '44b52d02c7e14af6',
  '444b1ae4d6e2ef4f',
  '444b1ae4d6e2ef50',
  '3eb0c6f7a0b5ed8c',
  '3eb0c6f7a0b5ed8d',
  '41b3de4355555553',
  'becbf647612f3696',
  '3ff0000000000000',
  '3fb999999999999a',
  '3fd3333333333334',
  '4059000000000000',
  '3f50624dd2f1a9fc',
];

function numberOf(bits: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${bits}`));
  return view.getFloat64(0);
}

const CANONICAL_INPUTS: { name: string; value: unknown }[] = [
  { name: 'literals', value: [null, true, false] },
  { name: 'empty containers', value: { a: [], b: {}, c: '' } },
  { name: 'nested objects sorted at every level', value: { z: { y: 1, x: [{ b: 2, a: 1 }] }, a: { c: null } } },
  { name: 'integers', value: [0, -1, 1, 42, 9007199254740991, -9007199254740991, 1e21, 1e20, 123456789] },
  {
    name: 'floats',
    value: [0.1, 0.2, 0.30000000000000004, 1.5, -2.75, 1e-7, 1e-6, 123.456, 4.5, 2e-3, 1e30, 3.141592653589793],
  },
  { name: 'RFC 8785 numbers', value: [333333333.3333333, 1e30, 4.5, 0.002, 1e-27] },
  { name: 'escapes', value: '"\\/\b\f\n\r\t\u0000\u0001\u001f\u007f' },
  { name: 'unicode', value: { text: 'héllo wörld € 😀 \u2028\u2029 日本語', lone: '\ud800x\udfff' } },
  {
    name: 'keys sorted by UTF-16 code units',
    value: {
      '\u20ac': 1,
      '\r': 2,
      '\ufb33': 3,
      '1': 4,
      '\ud83d\ude00': 5,
      '\u0080': 6,
      '\u00f6': 7,
      '10': 8,
      A: 9,
      a: 10,
    },
  },
  {
    name: 'a step input',
    value: { prompt: 'Summarize: the quick brown fox', temperature: 0.7, max_tokens: 256, stop: ['\n\n'] },
  },
  { name: 'a blob reference', value: { $blob: `sha256:${'ab'.repeat(32)}`, size: 10, mediaType: 'text/plain' } },
  { name: 'deep', value: [[[[[[{ deep: [1.25, 'x'] }]]]]]] },
];

const RFC8032 = [
  { seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', message: '' },
  { seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb', message: '72' },
  { seed: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7', message: 'af82' },
];

const WORKER_SEED = '1f'.repeat(32);

/** A job as the coordinator hands it out, and the facts of a run of it. */
const JOB: Assignment = {
  jobId: 'job-01a249b9-84b8-757b-ac2a-432f827cf30b',
  executionId: '01a249b9-84b8-757b-ac2a-432f827cf30b',
  stepId: 'summarize',
  attempt: 2,
  nonce: 'n0nce-5f3a',
  stepType: 'inference',
  spec: { workflowDigest: 'a1'.repeat(32), stepType: 'inference', model: { name: 'acme/py-summarize' } },
  input: { text: 'Verity runs steps on workers it does not trust. ½ € 😀', n: 3, ratio: 0.25 },
  inputDigest: '',
  maxCost: 5000,
  assignedAt: 1796531200000,
  deadlineAt: 1796531260000,
  leaseMs: 15000,
  started: true,
};

export function buildVectors() {
  const worker = signerFromSeed(WORKER_SEED);
  const job = { ...JOB, inputDigest: jsonDigest(JOB.input) };
  const facts: RunFacts = {
    outputDigest: jsonDigest({ summary: 'Steps run on untrusted workers.', words: 5 }),
    model: { name: 'acme/py-summarize', version: '1', digest: 'c3'.repeat(32) },
    executor: 'acme/py-summarize',
    workerId: 'remote-01a249b9-7d13-72dc-97a9-468b5f259ecd',
    workerKeyId: worker.keyId,
    startedAt: new Date(1796531201234).toISOString(),
    finishedAt: new Date(1796531203005).toISOString(),
    usage: { input_tokens: 12, output_tokens: 5, seconds: 1.75 },
    cost: 1234,
  };
  const statement = stepStatement(jobPredicate(job, facts));
  const challenge = 'eyJ0eXAiOiJjaGFsbGVuZ2UifQ.c2lnbmVk';
  return {
    about:
      'Known answers of the TypeScript attest code (test/vectors/generate.ts); every worker implementation must reproduce them byte for byte.',
    canonical: CANONICAL_INPUTS.map(({ name, value }) => ({
      name,
      input: value,
      canonical: canonicalJson(value),
      sha256: jsonDigest(value),
    })),
    numbers: [...EDGE_BITS, ...doubleBits(300)].map((bits) => ({ bits, text: canonicalJson(numberOf(bits)) })),
    pae: [
      { payloadType: 'http://example.com/HelloWorld', body: toHex(utf8('hello world')) },
      { payloadType: 'tÿpe', body: toHex(utf8('€')) },
      { payloadType: IN_TOTO_PAYLOAD_TYPE, body: toHex(utf8('{"a":1}')) },
      { payloadType: IN_TOTO_PAYLOAD_TYPE, body: '' },
    ].map((v) => ({ ...v, pae: toHex(pae(v.payloadType, Buffer.from(v.body, 'hex'))) })),
    ed25519: RFC8032.map(({ seed, message }) => {
      const signer = signerFromSeed(seed);
      return {
        seed,
        publicKey: toHex(signer.publicKey),
        message,
        signature: toHex(signer.sign(Buffer.from(message, 'hex'))),
      };
    }),
    keys: RFC8032.map(({ seed }) => {
      const signer = signerFromSeed(seed);
      return {
        seed,
        publicKey: toHex(signer.publicKey),
        keyId: keyIdOf(signer.publicKey),
        pem: publicKeyToPem(signer.publicKey),
      };
    }),
    registration: {
      seed: WORKER_SEED,
      challenge,
      message: toHex(registrationMessage(challenge)),
      signature: toBase64(worker.sign(registrationMessage(challenge))),
    },
    isoTimes: [0, 1796531201234, 1796531203005, 946684799999, 1700000000001].map((ms) => ({
      ms,
      iso: new Date(ms).toISOString(),
    })),
    attestation: {
      seed: WORKER_SEED,
      job,
      facts,
      predicate: statement.predicate,
      statement: canonicalJson(statement),
      envelope: signEnvelope(IN_TOTO_PAYLOAD_TYPE, statementBytes(statement), worker),
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = fileURLToPath(new URL('shared-vectors.json', import.meta.url));
  writeFileSync(file, `${JSON.stringify(buildVectors(), null, 2)}\n`);
  console.log(`wrote ${file}`);
}
