import { call } from '../api-http.js';
import type { RawResponse } from '../api-http.js';
import { json, nested } from './hostile.js';
import type { AttackTarget } from './target.js';

/**
 * Requests that broke the server once (issue 11), sent by every attack run and by their focused test.
 * Each says what the answer must be; `check` returns what is wrong, or undefined.
 */
export interface Regression {
  name: string;
  /** Changes state when it succeeds (the fixtures are checked again after it). */
  mutates?: boolean;
  send(target: AttackTarget): Promise<RawResponse>;
  check(
    response: RawResponse,
    target: AttackTarget,
    elapsedMs: number,
  ): Promise<string | undefined> | string | undefined;
}

const ECHO_STEP = { id: 'a', step_type: 'inference', model_requirements: { name: 'builtin/echo' } };

function error(response: RawResponse): { code?: string; message?: string } | undefined {
  return (response.json as { error?: { code?: string; message?: string } } | undefined)?.error;
}

function expect400(response: RawResponse, mention: RegExp): string | undefined {
  if (response.status !== 400) return `expected 400, got ${response.status}: ${response.text.slice(0, 300)}`;
  const e = error(response);
  if (typeof e?.code !== 'string' || typeof e.message !== 'string')
    return `not the API's error shape: ${response.text.slice(0, 300)}`;
  return mention.test(response.text)
    ? undefined
    : `the message does not say ${mention}: ${response.text.slice(0, 300)}`;
}

const yaml = (target: AttackTarget, text: string) =>
  call(target.url, 'POST', '/v1/workflows', {
    key: target.keys.publisher!,
    body: text,
    headers: { 'content-type': 'application/yaml' },
  });

export const REGRESSIONS: readonly Regression[] = [
  {
    name: '(a) workflow YAML nested 129 levels (flow) is refused naming the limit',
    send: (t) => yaml(t, `id: atk-deep\nversion: 1\nsteps: ${'['.repeat(129)}${']'.repeat(129)}\n`),
    check: (r) => expect400(r, /deeper than 128 levels/),
  },
  {
    name: '(a) workflow YAML nested 100,000 levels (flow) is refused at once, not a stack overflow or seconds of parsing',
    send: (t) => yaml(t, `id: atk-deep\nsteps: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`),
    check: (r, _t, ms) =>
      expect400(r, /deeper than 128 levels/) ?? (ms > 2_000 ? `took ${Math.round(ms)} ms` : undefined),
  },
  {
    name: '(a) workflow YAML nested 200 levels (block sequences) is refused',
    send: (t) =>
      yaml(t, `id: atk-deep\nsteps:\n${Array.from({ length: 200 }, (_, i) => `${' '.repeat(i + 1)}- `).join('\n')}x\n`),
    check: (r) => expect400(r, /deeper than 128 levels/),
  },
  {
    name: '(a) aliases that expand past 128 levels are refused',
    send: (t) =>
      yaml(
        t,
        `a0: &a0 [1]\n${Array.from({ length: 140 }, (_, i) => `a${i + 1}: &a${i + 1} [*a${i}]`).join('\n')}\nid: atk-deep\nsteps: [*a140]\n`,
      ),
    check: (r) => expect400(r, /deeper than 128 levels|alias/),
  },
  {
    name: '(a) a JSON definition nested 20,000 levels is refused naming the limit',
    send: (t) =>
      call(t.url, 'POST', '/v1/workflows', {
        key: t.keys.publisher!,
        body: json({ id: 'atk-deep', steps: [ECHO_STEP], x: nested(20_000, 'array') }),
        headers: { 'content-type': 'application/json' },
      }),
    check: (r) => expect400(r, /deeper than 128 levels/),
  },
  {
    name: '(a) duplicate keys are refused',
    send: (t) =>
      yaml(
        t,
        'id: atk-dup\nid: atk-dup2\nversion: 1\nsteps:\n  - id: a\n    step_type: inference\n    model_requirements: { name: builtin/echo }\n',
      ),
    check: (r) => expect400(r, /unique/),
  },
  {
    name: '(b) a catastrophic input pattern runs in linear time: ^(a+)+$ against 50,000 a and a !',
    send: (t) =>
      call(t.url, 'POST', '/v1/agents/atk-pattern/execute', {
        key: t.keys.client!,
        json: { inputs: { s: `${'a'.repeat(50_000)}!` } },
      }),
    check: (r, _t, ms) => expect400(r, /must match pattern/) ?? (ms > 3_000 ? `took ${Math.round(ms)} ms` : undefined),
  },
  {
    name: '(b) ^(a+)+$ against 30 a and a !: exponential with a backtracking engine',
    send: (t) =>
      call(t.url, 'POST', '/v1/agents/atk-pattern/execute', {
        key: t.keys.client!,
        json: { inputs: { s: `${'a'.repeat(30)}!` } },
      }),
    check: (r, _t, ms) => expect400(r, /must match pattern/) ?? (ms > 3_000 ? `took ${Math.round(ms)} ms` : undefined),
  },
  {
    name: '(b) a pattern RE2 cannot run (a backreference) is refused when published',
    send: (t) =>
      call(t.url, 'POST', '/v1/workflows', {
        key: t.keys.publisher!,
        json: {
          id: 'atk-backref',
          version: 1,
          inputs: { type: 'object', properties: { s: { type: 'string', pattern: '(a+)\\1' } } },
          steps: [ECHO_STEP],
        },
      }),
    check: (r) => expect400(r, /inputs.*JSON Schema/),
  },
  {
    name: '(c) inputs nested 257 levels are refused naming the limit',
    send: (t) =>
      call(t.url, 'POST', '/v1/agents/atk-echo/execute', {
        key: t.keys.client!,
        json: { inputs: { x: nested(256, 'array') } },
      }),
    check: (r) => expect400(r, /deeper than 256 levels/),
  },
  {
    name: '(c) inputs nested 20,000 levels are refused, not a 500',
    send: (t) =>
      call(t.url, 'POST', '/v1/agents/atk-echo/execute', {
        key: t.keys.client!,
        body: `{"inputs":{"x":${'['.repeat(20_000)}${']'.repeat(20_000)}}}`,
        headers: { 'content-type': 'application/json' },
      }),
    check: (r) => expect400(r, /deeper than 256 levels/),
  },
  {
    name: '(c) a worker output nested 300 levels fails the step, never a 500',
    mutates: true,
    send: (t) => t.manual.worker.complete(t.manual.job, { output: nested(300, 'object') }),
    async check(r, t) {
      if (r.status >= 500) return `got ${r.status}: ${r.text.slice(0, 300)}`;
      if (r.status >= 300)
        return `the report was not taken (${r.status}: ${r.text.slice(0, 300)}): the fixture's job is not held`;
      for (let i = 0; i < 100; i++) {
        const view = await call(t.url, 'GET', `/v1/executions/${t.manual.job.executionId}`, { key: t.keys.admin! });
        const v = view.json as {
          status?: string;
          steps?: { id: string; status: string; error?: { message?: string } }[];
        };
        if (v.status === 'failed') {
          const message = JSON.stringify(v);
          return /deeper than 256 levels/.test(message)
            ? undefined
            : `the execution failed without saying why: ${message.slice(0, 400)}`;
        }
        if (v.status !== 'running') return `execution ended ${v.status}, expected failed`;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return 'the execution did not fail within 10 s';
    },
  },
  {
    name: '(d) an unknown route answers a JSON 404 without a key',
    send: (t) => call(t.url, 'GET', '/v1/no/such/route'),
    check: (r) =>
      r.status === 404 && error(r)?.code === 'not_found'
        ? undefined
        : `expected a JSON 404, got ${r.status}: ${r.text.slice(0, 200)}`,
  },
  {
    name: '(d) an unknown route answers a JSON 404 to an admin (not a 403)',
    send: (t) => call(t.url, 'POST', '/v1/nothing', { key: t.keys.admin!, json: {} }),
    check: (r) =>
      r.status === 404 && error(r)?.code === 'not_found'
        ? undefined
        : `expected a JSON 404, got ${r.status}: ${r.text.slice(0, 200)}`,
  },
];

/** Sends every regression; returns the problems (empty when all hold). */
export async function runRegressions(target: AttackTarget): Promise<{ name: string; problem: string }[]> {
  const problems: { name: string; problem: string }[] = [];
  for (const regression of REGRESSIONS) {
    if (regression.mutates) await target.ensureFixtures();
    const started = performance.now();
    let problem: string | undefined;
    try {
      const response = await regression.send(target);
      problem = await regression.check(response, target, performance.now() - started);
    } catch (e) {
      problem = `threw: ${(e as Error).message}`;
    }
    if (problem) problems.push({ name: regression.name, problem });
  }
  await target.ensureFixtures();
  return problems;
}
