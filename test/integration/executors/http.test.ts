import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../src/attest/canonical.js';
import { sha256Hex } from '../../../src/attest/digest.js';
import { defaultExecutors } from '../../../src/executors/defaults.js';
import { loadHttpConfig } from '../../../src/executors/http/config.js';
import { HttpExecutor } from '../../../src/executors/http/http-executor.js';
import { ExecutorRegistry } from '../../../src/executors/registry.js';
import { startHttpService } from '../../support/http-service.js';
import type { HttpService } from '../../support/http-service.js';
import { startTestNode } from '../../support/node.js';
import type { TestNode } from '../../support/node.js';
import { attestationIndex, attestationOf, bundleOf, expectVerified, verify } from '../receipts/support.js';

const TOKEN = 'secret-token-0123456789';

/** A workflow of one builtin/http step whose URL, method, query and body come from the execution's inputs. */
const callWorkflow = (id: string, maxAttempts = 3) => ({
  id,
  verification_level: 'full',
  steps: [
    {
      id: 'call',
      step_type: 'inference',
      model_requirements: { name: 'builtin/http' },
      input_mappings: { url: 'inputs.url', method: 'inputs.method', query: 'inputs.query', body: 'inputs.body' },
      retry_policy: { max_attempts: maxAttempts, initial_backoff_ms: 50, backoff_multiplier: 1, max_backoff_ms: 50 },
    },
  ],
});

/**
 * builtin/http on a real node, calling a real service on 127.0.0.1: the worker's allow-list lists one
 * port of it (three prefixes); a second service on another port stands for everything not listed.
 */
describe('builtin/http steps', () => {
  let service: HttpService;
  let other: HttpService;
  let t: TestNode;

  beforeAll(async () => {
    service = await startHttpService();
    other = await startHttpService();
    other.route('/api/echo', () => ({ body: '{"reached":"the unlisted service"}' }));
    const config = loadHttpConfig(
      {
        endpoints: [
          {
            url: `${service.url}/api/`,
            methods: ['GET', 'POST'],
            headers: { authorization: 'Bearer ${HTTP_TEST_TOKEN}', 'x-caller': 'verity-test' },
          },
          { url: `${service.url}/slow/`, timeout_ms: 300 },
          { url: `${service.url}/big/`, max_response_bytes: 1000 },
        ],
      },
      { HTTP_TEST_TOKEN: TOKEN },
    );
    t = await startTestNode('sqlite', 'http-steps', { executors: [...defaultExecutors(), new HttpExecutor(config)] });
  });
  afterAll(async () => {
    await t?.close();
    await service?.close();
    await other?.close();
  });

  const requestsTo = (s: HttpService, path: string) => s.requests.filter((r) => r.url.split('?')[0] === path);
  const jobsOf = async (executionId: string) => t.node.store.read.listJobs(executionId);

  it('calls the service with the worker headers and takes its JSON as the output; the receipt verifies and attests the exchange', async () => {
    service.route('/api/echo', (request) => ({
      // Not canonical on purpose: the digest is of the bytes sent, not of the parsed value.
      body: `{ "echo" : ${request.body.toString('utf8')}, "path": ${JSON.stringify(request.url)} }\n`,
    }));
    const body = { text: 'héllo', n: 1, nested: { b: 2, a: [true, null] } };
    const view = await t.run(callWorkflow('http-echo'), {
      url: `${service.url}/api/echo`,
      query: { x: 1, q: 'a b' },
      body,
    });
    expect(view.status, JSON.stringify(view.steps)).toBe('completed');
    expect(view.steps[0]).toMatchObject({ status: 'completed', attempts: 1 });

    const [received] = requestsTo(service, '/api/echo');
    // The query as the step's input holds it: its keys in canonical order.
    expect(received).toMatchObject({ method: 'POST', url: '/api/echo?q=a+b&x=1' });
    expect(received!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(received!.headers['x-caller']).toBe('verity-test');
    expect(received!.headers['content-type']).toBe('application/json');
    expect(received!.body.toString('utf8')).toBe(canonicalJson(body));
    const sent = service.responses[service.requests.indexOf(received!)]!;

    const step = (await t.node.store.read.getStepResults(view.executionId))[0]!;
    expect(step.output).toEqual({ echo: body, path: '/api/echo?q=a+b&x=1' });

    const bundle = await bundleOf(t, view.executionId);
    const report = await verify(bundle, [t.node.coordinatorSigner.publicKeyPem], 'full');
    expectVerified(report);
    const predicate = attestationOf(bundle.attestations[attestationIndex(bundle, 'call')]!).predicate;
    expect(predicate.http).toEqual({
      url: `${service.url}/api/echo?q=a+b&x=1`,
      method: 'POST',
      status: 200,
      requestDigest: sha256Hex(received!.body),
      responseDigest: sha256Hex(sent.body),
    });
    expect(predicate.executor).toBe('http');
    expect(predicate.model).toEqual({ name: 'builtin/http', version: null, digest: null });
    expect(report.checks.find((c) => c.name === 'http.call')).toMatchObject({ ok: true });
    expect(report.checks.find((c) => c.name === 'attestation.call')!.message).toContain(
      `called POST ${service.url}/api/echo?q=a+b&x=1 → 200`,
    );
    // The secret is the worker's: nowhere in what the execution stored or the bundle carries.
    expect(JSON.stringify(bundle)).not.toContain(TOKEN);
  });

  it('GET with a query and no body: the request digest is that of no bytes', async () => {
    service.route('/api/items', (request) => ({ body: JSON.stringify({ method: request.method, url: request.url }) }));
    const view = await t.run(callWorkflow('http-get'), {
      url: `${service.url}/api/items`,
      method: 'get',
      query: { page: 2 },
    });
    expect(view.status, JSON.stringify(view.steps)).toBe('completed');
    const received = requestsTo(service, '/api/items')[0]!;
    expect(received.method).toBe('GET');
    expect(received.body.byteLength).toBe(0);
    const bundle = await bundleOf(t, view.executionId);
    expect(attestationOf(bundle.attestations[0]!).predicate.http).toMatchObject({
      method: 'GET',
      status: 200,
      requestDigest: sha256Hex(new Uint8Array()),
    });
  });

  it('a 503 then a 200 is retried per the retry policy (code http_503) and completes', async () => {
    service.route('/api/flaky', (_, hit) =>
      hit === 1 ? { status: 503, body: '{"error":"warming up"}' } : { body: '{"warm":true}' },
    );
    const view = await t.run(callWorkflow('http-flaky'), { url: `${service.url}/api/flaky`, body: {} });
    expect(view.status, JSON.stringify(view.steps)).toBe('completed');
    expect(view.steps[0]).toMatchObject({ status: 'completed', attempts: 2 });
    const jobs = await jobsOf(view.executionId);
    expect(jobs.map((j) => [j.status, j.error?.code])).toEqual([
      ['failed', 'http_503'],
      ['completed', undefined],
    ]);
    expect(requestsTo(service, '/api/flaky')).toHaveLength(2);
    const step = (await t.node.store.read.getStepResults(view.executionId))[0]!;
    expect(step.output).toEqual({ warm: true });
  });

  it('a 429 is retryable too; a 400 is not retried, and its excerpt never shows the worker headers', async () => {
    service.route('/api/limited', (_, hit) => (hit === 1 ? { status: 429, body: 'slow down' } : { body: '[1,2]' }));
    const limited = await t.run(callWorkflow('http-429'), { url: `${service.url}/api/limited`, body: {} });
    expect(limited.status).toBe('completed');
    expect((await jobsOf(limited.executionId)).map((j) => j.error?.code)).toEqual(['http_429', undefined]);

    service.route('/api/bad', (request) => ({
      status: 400,
      body: JSON.stringify({ error: 'field n is required', youSent: request.headers.authorization }),
    }));
    const view = await t.run(callWorkflow('http-400'), { url: `${service.url}/api/bad`, body: { m: 1 } });
    expect(view.status).toBe('failed');
    expect(view.steps[0]).toMatchObject({ status: 'failed', attempts: 1 });
    const error = view.steps[0]!.error!;
    expect(error).toMatchObject({ code: 'http_400', retryable: false });
    expect(error.message).toContain('field n is required');
    expect(error.message).toContain('[redacted]');
    expect(error.message).not.toContain(TOKEN);
    expect(requestsTo(service, '/api/bad')).toHaveLength(1);
  });

  it('refuses a URL not on the allow-list without sending anything, and does not retry', async () => {
    const before = service.requests.length;
    for (const url of [
      `${service.url}/admin`,
      `${service.url}/api`,
      `${service.url}/api/../admin`,
      `${service.url}/api/..%2fadmin`,
      `http://localhost:${service.port}/api/echo`,
      `http://user:pw@127.0.0.1:${service.port}/api/echo`,
      `https://127.0.0.1:${service.port}/api/echo`,
    ]) {
      const view = await t.run(callWorkflow('http-refused'), { url, body: {} });
      expect(view.status, url).toBe('failed');
      expect(view.steps[0], url).toMatchObject({ attempts: 1, error: { code: 'http_not_allowed', retryable: false } });
      expect(view.steps[0]!.error!.message).toMatch(/allow-list \(3 entries\)/);
      expect(view.steps[0]!.error!.message).not.toContain(TOKEN);
    }
    expect(service.requests.length).toBe(before);
  });

  it('attack: a definition cannot make the worker call 127.0.0.1 on a port that is not listed', async () => {
    for (const url of [
      `${other.url}/api/echo`,
      `http://127.1:${other.port}/api/echo`,
      `http://[::ffff:127.0.0.1]:${other.port}/api/echo`,
      `http://127.0.0.1:${service.port}@127.0.0.1:${other.port}/api/echo`,
      `http://127.0.0.1:${other.port}#@127.0.0.1:${service.port}/api/echo`,
    ]) {
      const view = await t.run(callWorkflow('http-other-port'), { url, body: {} });
      expect(view.steps[0], url).toMatchObject({ status: 'failed', error: { code: 'http_not_allowed' } });
    }
    // A method the entry does not allow is refused alike.
    const put = await t.run(callWorkflow('http-method'), { url: `${service.url}/slow/x`, method: 'GET' });
    expect(put.steps[0]).toMatchObject({ error: { code: 'http_not_allowed' } });
    expect(put.steps[0]!.error!.message).toMatch(/GET is not allowed/);
    expect(other.requests).toEqual([]);
  });

  it('does not follow a redirect to an unlisted URL: a non-retryable failure naming the Location', async () => {
    service.route('/api/moved', () => ({ status: 302, headers: { location: `${other.url}/api/echo` }, body: '' }));
    const view = await t.run(callWorkflow('http-redirect'), { url: `${service.url}/api/moved`, body: {} });
    expect(view.status).toBe('failed');
    expect(view.steps[0]).toMatchObject({ attempts: 1, error: { code: 'http_302', retryable: false } });
    expect(view.steps[0]!.error!.message).toContain(`${other.url}/api/echo`);
    expect(other.requests).toEqual([]);
  });

  it("a slow service hits the entry's timeout: retryable http_timeout, retried, then failed", async () => {
    service.route('/slow/wait', () => ({ delayMs: 1500, body: '{}' }));
    const started = Date.now();
    const view = await t.run(callWorkflow('http-slow', 2), { url: `${service.url}/slow/wait`, body: {} });
    expect(view.status).toBe('failed');
    expect(view.steps[0]).toMatchObject({ attempts: 2, error: { code: 'http_timeout', retryable: true } });
    expect(view.steps[0]!.error!.message).toMatch(/within 300 ms/);
    expect(Date.now() - started).toBeLessThan(1500 * 2);
    expect((await jobsOf(view.executionId)).map((j) => j.error?.code)).toEqual(['http_timeout', 'http_timeout']);
  });

  it("a response over the entry's max_response_bytes fails, not retried", async () => {
    service.route('/big/blob', () => ({ body: JSON.stringify({ data: 'x'.repeat(5000) }) }));
    const view = await t.run(callWorkflow('http-big'), { url: `${service.url}/big/blob`, body: {} });
    expect(view.steps[0]).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { code: 'http_response_too_large', retryable: false },
    });
  });

  it('takes no headers from a definition, and wants a JSON answer', async () => {
    const view = await t.run(
      {
        id: 'http-headers',
        steps: [
          {
            id: 'call',
            step_type: 'inference',
            model_requirements: { name: 'builtin/http' },
            input_mappings: { url: `'${service.url}/api/echo'`, headers: "{ 'authorization': 'Bearer mine' }" },
          },
        ],
      },
      {},
    );
    expect(view.steps[0]).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'invalid_input' } });
    expect(view.steps[0]!.error!.message).toMatch(/no headers from a step/);

    service.route('/api/html', () => ({ headers: { 'content-type': 'text/html' }, body: '<html></html>' }));
    const html = await t.run(callWorkflow('http-html'), { url: `${service.url}/api/html`, body: {} });
    expect(html.steps[0]).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'http_not_json' } });
  });

  it('is not offered by a worker without an allow-list', () => {
    const registry = new ExecutorRegistry(defaultExecutors());
    expect(registry.canServe('inference', 'builtin/http')).toBe(false);
    expect(registry.capabilities.models).not.toContain('builtin/http');
  });
});
