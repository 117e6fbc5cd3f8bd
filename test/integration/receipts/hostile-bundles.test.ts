import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle } from '../../../src/attest/bundle.js';
import { ZK_BUNDLE_MEDIA_TYPE } from '../../../src/attest/bundle.js';
import { jsonDigest } from '../../../src/attest/digest.js';
import { IN_TOTO_PAYLOAD_TYPE } from '../../../src/attest/dsse.js';
import { zkStatement } from '../../../src/attest/zk/statement.js';
import { LocalSigner } from '../../../src/keys/local-signer.js';
import { call } from '../../support/api-http.js';
import { runCli } from '../../support/cli.js';
import { echo, startTestNode, transform } from '../../support/node.js';
import type { TestNode } from '../../support/node.js';
import { startTestServer } from '../../support/server.js';
import type { TestServer } from '../../support/server.js';
import { bundleOf, clone, forgeReceipt, resign, verify } from './support.js';

/**
 * Bundles made to hurt whoever verifies them (issue: one request to POST /v1/receipts/verify killed the
 * server). Two ways in: a bundle no trusted key signed, which must cost a signature check and nothing more;
 * and a bundle signed by a key the caller chose to trust (the verify route takes the caller's keys), whose
 * definition carries expressions built to exhaust memory or time. Both must leave the verifier, the CLI
 * and the server standing, with a report that names what failed.
 */
const REDOS = '$match("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /(a+)+$/)';
const PAD_BOMB = '$length($pad("x", 200000000))';
const RANGE_BOMB = '$string([1..9999999]) & $string([1..9999999])';

let t: TestNode;
let honest: Bundle;
const forger = LocalSigner.generate();

/** The honest bundle with its definition's expressions swapped for bombs, and a receipt the forger re-signed to match. */
function hostile(): { bundle: Bundle; trusted: string[] } {
  const bundle = clone(honest);
  const workflow = bundle.data!.workflow as { steps: Record<string, unknown>[]; outputs?: Record<string, string> };
  workflow.steps[0]!.expression = PAD_BOMB;
  workflow.steps[1]!.when = `${REDOS} or true`;
  workflow.steps[1]!.input_mappings = { v: RANGE_BOMB };
  workflow.outputs = { r: REDOS };
  const digest = jsonDigest(workflow);
  return forgeReceipt(bundle, forger, '', (statement) => {
    statement.predicate.workflow.digest = digest;
  });
}

beforeAll(async () => {
  t = await startTestNode('sqlite', 'hostile-bundles');
  const view = await t.run(
    {
      id: 'victim',
      steps: [
        transform('shape', '$uppercase(inputs.text)', { input_mappings: { text: 'inputs.text' } }),
        echo('model', {
          depends_on: ['shape'],
          when: 'steps.shape.output != ""',
          input_mappings: { v: '$string(steps.shape.output)' },
        }),
      ],
      outputs: { r: '$string(steps.model.output.v)' },
    },
    { text: 'hi' },
  );
  expect(view.status).toBe('completed');
  honest = await bundleOf(t, view.executionId);
});
afterAll(() => t?.close());

describe('a bundle made to hurt its verifier', () => {
  it('verifies honestly before it is tampered with', async () => {
    expect((await verify(honest, [t.node.coordinatorSigner.publicKeyPem], 'full')).ok).toBe(true);
  });

  it('runs none of its expressions when no trusted key signed it', async () => {
    const { bundle } = hostile();
    const started = Date.now();
    const report = await verify(bundle, [t.node.coordinatorSigner.publicKeyPem], 'full');
    expect(report.ok).toBe(false);
    expect(report.checks.map((c) => c.name).sort()).toEqual(['receipt.signature', 'receipt.statement']);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('runs the expressions of a bundle the caller trusts in the sandbox: each bomb fails its own check, and this process stands', async () => {
    const { bundle, trusted } = hostile();
    const before = process.memoryUsage().rss;
    const started = Date.now();
    const report = await verify(bundle, trusted, 'full');
    expect(report.ok).toBe(false);
    const failed = Object.fromEntries(report.checks.filter((c) => !c.ok).map((c) => [c.name, c.message]));
    expect(failed['rerun.shape']).toMatch(/out of memory|ran longer/);
    expect(failed['condition.model']).toMatch(/ran longer than its 1000 ms/);
    expect(failed['lineage.model']).toMatch(/memory|ran longer/);
    expect(failed['data.result']).toMatch(/ran longer than its 1000 ms/);
    // Bounded by the limits, not by what the bombs would take; and nothing was allocated here.
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
  }, 60_000);
});

describe('POST /v1/receipts/verify under attack', () => {
  let server: TestServer;
  let key: string;
  beforeAll(async () => {
    server = await startTestServer('sqlite', 'hostile-verify');
    key = await server.key('mallory', 'client');
  });
  afterAll(() => server?.close());

  /** The slowest answer of /healthz while `work` runs: how long the server's event loop was held. */
  async function worstHealthLatency(work: Promise<unknown>): Promise<number> {
    let done = false;
    void work.finally(() => (done = true));
    let worst = 0;
    while (!done) {
      const started = Date.now();
      await call(server.url, 'GET', '/healthz');
      worst = Math.max(worst, Date.now() - started);
      await new Promise((r) => setTimeout(r, 20));
    }
    return worst;
  }

  it('answers a trusted-signed bundle of bombs with a report, and stays responsive while it is verified', async () => {
    const { bundle, trusted } = hostile();
    const request = call(server.url, 'POST', '/v1/receipts/verify', {
      key,
      json: { bundle, level: 'full', trustedKeys: trusted },
    });
    const worst = await worstHealthLatency(request);
    const response = await request;
    expect(response.status).toBe(200);
    const report = response.json as { ok: boolean; checks: { name: string; ok: boolean; message: string }[] };
    expect(report.ok).toBe(false);
    expect(report.checks.find((c) => c.name === 'rerun.shape')).toMatchObject({
      ok: false,
      message: expect.stringMatching(/memory|ran longer/) as unknown,
    });
    expect(worst).toBeLessThan(500);
    expect((await call(server.url, 'GET', '/healthz')).status).toBe(200);
  }, 90_000);

  it('verifies one bundle at a time per principal: a second while the first runs is a 429, another principal is not held back', async () => {
    const { bundle, trusted } = hostile();
    const body = { bundle, level: 'full', trustedKeys: trusted };
    const first = call(server.url, 'POST', '/v1/receipts/verify', { key, json: body });
    // The bombs hold the first for seconds; wait until the server has taken it.
    await new Promise((r) => setTimeout(r, 300));
    const second = await call(server.url, 'POST', '/v1/receipts/verify', { key, json: body });
    expect(second.status, second.text).toBe(429);
    expect(second.json).toMatchObject({ error: { code: 'quota_exceeded', quota: 'verifications', limit: 1 } });
    const other = await call(server.url, 'POST', '/v1/receipts/verify', {
      key: await server.key('trent', 'client'),
      json: { bundle, level: 'basic', trustedKeys: trusted },
    });
    expect(other.status, other.text).toBe(200);
    expect((await first).status).toBe(200);
    // Its place is free again once it is done.
    const again = await call(server.url, 'POST', '/v1/receipts/verify', {
      key,
      json: { bundle, level: 'basic', trustedKeys: trusted },
    });
    expect(again.status, again.text).toBe(200);
  }, 90_000);

  it('refuses at once an unsigned zk-only bundle of 300,000 step ids', async () => {
    const steps = Array.from({ length: 300_000 }, (_, i) => i.toString(36));
    const statement = zkStatementWith(steps);
    const bundle = zkOnly(resign(IN_TOTO_PAYLOAD_TYPE, statement, forger));
    const started = Date.now();
    const response = await call(server.url, 'POST', '/v1/receipts/verify', { key, json: { bundle, level: 'zk' } });
    expect(response.status).toBe(200);
    expect((response.json as { ok: boolean }).ok).toBe(false);
    expect(Date.now() - started).toBeLessThan(5_000);
  }, 30_000);

  it('verifies a trusted-signed zk-only bundle of 10,000 step ids without holding the event loop', async () => {
    const steps = Array.from({ length: 10_000 }, (_, i) => `s${i}`);
    const bundle = zkOnly(resign(IN_TOTO_PAYLOAD_TYPE, zkStatementWith(steps), forger));
    const request = call(server.url, 'POST', '/v1/receipts/verify', {
      key,
      json: { bundle, level: 'zk', trustedKeys: [forger.publicKeyPem] },
    });
    const worst = await worstHealthLatency(request);
    const response = await request;
    expect(response.status).toBe(200);
    const report = response.json as { ok: boolean; checks: { name: string; ok: boolean }[] };
    expect(report.ok).toBe(false);
    expect(report.checks.find((c) => c.name === 'zk.steps')).toBeDefined();
    expect(worst).toBeLessThan(500);
  }, 90_000);

  it('refuses more step ids than any workflow has, even signed by a trusted key', async () => {
    const steps = Array.from({ length: 10_001 }, (_, i) => `s${i}`);
    const bundle = zkOnly(resign(IN_TOTO_PAYLOAD_TYPE, zkStatementWith(steps), forger));
    const response = await call(server.url, 'POST', '/v1/receipts/verify', {
      key,
      json: { bundle, level: 'zk', trustedKeys: [forger.publicKeyPem] },
    });
    const report = response.json as { ok: boolean; checks: { name: string; ok: boolean; message: string }[] };
    expect(report.ok).toBe(false);
    expect(report.checks.find((c) => c.name === 'zk.statement')).toMatchObject({
      ok: false,
      message: expect.stringMatching(/steps/) as unknown,
    });
  }, 30_000);
});

describe('verity verify of a hostile bundle', () => {
  it('reports the bombs as failed checks and exits 1, without crashing', async () => {
    const { bundle, trusted } = hostile();
    const dir = mkdtempSync(join(tmpdir(), 'verity-hostile-'));
    writeFileSync(join(dir, 'bundle.json'), JSON.stringify(bundle));
    writeFileSync(join(dir, 'forger.pem'), trusted[0]!);
    const result = await runCli([
      'verify',
      join(dir, 'bundle.json'),
      '--trust',
      join(dir, 'forger.pem'),
      '--level',
      'full',
    ]);
    expect(result.signal).toBeNull();
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/✗ rerun\.shape: .*(out of memory|ran longer)/);
    expect(result.stdout).toMatch(/NOT verified/);
  }, 90_000);
});

function zkStatementWith(steps: string[]) {
  const digest = '0'.repeat(64);
  return zkStatement({
    executionId: 'x',
    revision: 1,
    workflow: { id: 'w', version: 1, digest },
    receiptDigest: digest,
    resultDigest: digest,
    completedAt: '2026-01-01T00:00:00.000Z',
    steps,
    zk: {
      circuit: 'verity-batch-v1-b1-d2',
      verificationKeyDigest: digest,
      batchSize: 1,
      registryDepth: 2,
      registryRoot: '1',
      registrySize: 1,
      commitment: '1',
      stepIdsCommitment: '1',
    },
  });
}

function zkOnly(statement: ReturnType<typeof resign>): unknown {
  return {
    mediaType: ZK_BUNDLE_MEDIA_TYPE,
    keys: [{ keyid: forger.keyId, role: 'coordinator', publicKeyPem: forger.publicKeyPem }],
    tlog: { origin: 'forged', logIndex: 0, treeSize: 1, inclusionProof: [], checkpoint: 'forged\n1\nAAAA\n' },
    zk: { statement, verificationKey: { protocol: 'groth16' }, proofs: [] },
  };
}
