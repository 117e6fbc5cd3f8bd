import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Ajv2020 } from 'ajv/dist/2020.js';
import openapiTS, { astToString } from 'openapi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../support/api-http.js';
import { echo } from '../../support/node.js';
import { startTestServer } from '../../support/server.js';
import type { TestServer } from '../../support/server.js';

/**
 * A client generated from the served document, the way a third party would make one: openapi-typescript
 * turns /openapi.json into types, a small openapi-fetch client type-checks against them (strict tsc), and the
 * same client runs a whole execution against the server; every answer it gets, the refusals included, must
 * match the schema the document gives for that operation and status.
 */

const root = fileURLToPath(new URL('../../../', import.meta.url));
const run = promisify(execFile);

interface Document {
  paths: Record<
    string,
    Record<string, { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> }>
  >;
  components?: Record<string, unknown>;
}

/** What the client saw: one line per answer. */
interface Seen {
  operation: string;
  status: number;
  contentType: string | null;
  body: unknown;
}

const workflow = {
  id: 'generated-client',
  name: 'Generated client',
  version: 1,
  steps: [echo('a', { input_mappings: { text: 'inputs.text' } })],
  outputs: { text: 'steps.a.output.text' },
};

/** The client: type-checked by tsc against the generated types, then run with tsx. */
const CLIENT = `
import createClient from 'openapi-fetch';
import type { components, paths } from './schema.js';

type Execution = components['schemas']['Execution'];

const client = createClient<paths>({ baseUrl: process.env.VERITY_URL!, headers: { authorization: \`Bearer \${process.env.VERITY_KEY!}\` } });
const seen: { operation: string; status: number; contentType: string | null; body: unknown }[] = [];
function record(operation: string, answer: { response: Response; data?: unknown; error?: unknown }): void {
  seen.push({ operation, status: answer.response.status, contentType: answer.response.headers.get('content-type'), body: answer.data ?? answer.error });
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const workflow = JSON.parse(process.env.WORKFLOW!) as Record<string, unknown>;
record('POST /v1/workflows', await client.POST('/v1/workflows', { body: workflow }));
record('POST /v1/workflows/validate', await client.POST('/v1/workflows/validate', { body: { id: 'broken', steps: [] } }));
record('GET /v1/workflows/{id}', await client.GET('/v1/workflows/{id}', { params: { path: { id: 'generated-client' } } }));
record('GET /v1/workflows/{id}', await client.GET('/v1/workflows/{id}', { params: { path: { id: 'no-such-workflow' } } }));

const refused = await client.POST('/v1/agents/{workflow_id}/execute', { params: { path: { workflow_id: 'generated-client' } }, body: { inputs: { text: 'x' }, budget: -1 } });
record('POST /v1/agents/{workflow_id}/execute', refused);
if (refused.error) {
  // The error body is typed: a code and a message.
  const code: string = refused.error.error.code;
  void code;
}

const started = await client.POST('/v1/agents/{workflow_id}/execute', {
  params: { path: { workflow_id: 'generated-client' }, header: { 'idempotency-key': 'generated-client-1' } },
  body: { inputs: { text: 'hello' } },
});
record('POST /v1/agents/{workflow_id}/execute', started);
if (!started.data) throw new Error('execute failed: ' + JSON.stringify(started.error));
const executionId: string = started.data.executionId;

let view: Execution | undefined;
for (let i = 0; i < 400; i++) {
  const status = await client.GET('/v1/agents/{execution_id}/status', { params: { path: { execution_id: executionId } } });
  view = status.data;
  if (status.data?.status !== 'running') {
    record('GET /v1/agents/{execution_id}/status', status);
    break;
  }
  await sleep(50);
}
if (view?.status !== 'completed') throw new Error('the execution did not complete: ' + JSON.stringify(view));
record('GET /v1/agents/{execution_id}/status', await client.GET('/v1/agents/{execution_id}/status', { params: { path: { execution_id: 'no-such-execution' } } }));
record('GET /v1/executions/{id}', await client.GET('/v1/executions/{id}', { params: { path: { id: executionId } } }));
record('GET /v1/executions', await client.GET('/v1/executions', { params: { query: { limit: 10 } } }));
record('GET /v1/executions/{id}/history', await client.GET('/v1/executions/{id}/history', { params: { path: { id: executionId } } }));

// The receipt is issued as the execution ends; until then the route answers 409.
let receipt = await client.GET('/v1/agents/{execution_id}/receipt', { params: { path: { execution_id: executionId }, query: { data: 'true' } } });
for (let i = 0; i < 200 && receipt.response.status === 409; i++) {
  await sleep(50);
  receipt = await client.GET('/v1/agents/{execution_id}/receipt', { params: { path: { execution_id: executionId }, query: { data: 'true' } } });
}
record('GET /v1/agents/{execution_id}/receipt', receipt);
if (!receipt.data) throw new Error('no receipt: ' + JSON.stringify(receipt.error));
record('POST /v1/receipts/verify', await client.POST('/v1/receipts/verify', { body: { bundle: receipt.data, level: 'full' } }));
record('POST /v1/executions/{id}/cancel', await client.POST('/v1/executions/{id}/cancel', { params: { path: { id: executionId } } }));
record('GET /v1/keys/coordinator', await client.GET('/v1/keys/coordinator'));
record('GET /v1/log/checkpoint', await client.GET('/v1/log/checkpoint'));

// The types are the document's, not \`any\`: each of these is refused by tsc.
async function misuses(): Promise<void> {
  // @ts-expect-error the path parameter is execution_id
  await client.GET('/v1/agents/{execution_id}/status', { params: { path: { id: 'x' } } });
  // @ts-expect-error no such route
  await client.GET('/v1/no/such/route');
  // @ts-expect-error budget is an integer, not a string
  await client.POST('/v1/agents/{workflow_id}/execute', { params: { path: { workflow_id: 'w' } }, body: { budget: '5' } });
  // @ts-expect-error an execution's status is one of the documented names
  const status: 'nope' = view!.status;
  void status;
}
void misuses;

process.stdout.write(JSON.stringify(seen));
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['ES2023', 'DOM'],
    types: ['node'],
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    noEmit: true,
    // The generated types are a .ts file, so this skips only the libraries' declarations.
    skipLibCheck: true,
  },
  files: ['client.ts', 'schema.ts'],
};

describe('a client generated from the OpenAPI document (openapi-typescript + openapi-fetch)', () => {
  let server: TestServer;
  let document: Document;
  let dir: string;

  beforeAll(async () => {
    server = await startTestServer('sqlite', 'openapi-client', { node: { workers: 2 }, server: { closeGraceMs: 200 } });
    document = (await call(server.url, 'GET', '/openapi.json')).json as Document;
    dir = mkdtempSync(join(tmpdir(), 'verity-openapi-client-'));
    // The project resolves openapi-fetch, tsx and @types/node from this repository.
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
    writeFileSync(
      join(dir, 'schema.ts'),
      astToString(await openapiTS(structuredClone(document) as unknown as Parameters<typeof openapiTS>[0])),
    );
    writeFileSync(join(dir, 'client.ts'), CLIENT);
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('type-checks under strict tsc, and the misuses are type errors', async () => {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { cwd: dir }).catch(
      (error: { stdout?: string; stderr?: string }) => error,
    );
    expect(`${result.stdout ?? ''}${result.stderr ?? ''}`).toBe('');
  }, 120_000);

  it('runs an execution, and every answer, refusals included, matches the schema the document gives it', async () => {
    const key = await server.key('generated', 'publisher');
    const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
    const { stdout } = await run(process.execPath, [tsx, join(dir, 'client.ts')], {
      cwd: dir,
      env: { ...process.env, VERITY_URL: server.url, VERITY_KEY: key, WORKFLOW: JSON.stringify(workflow) },
      timeout: 90_000,
    });
    const seen = JSON.parse(stdout) as Seen[];
    expect(seen.map((s) => `${s.status} ${s.operation}`)).toEqual([
      '201 POST /v1/workflows',
      '200 POST /v1/workflows/validate',
      '200 GET /v1/workflows/{id}',
      '404 GET /v1/workflows/{id}',
      '400 POST /v1/agents/{workflow_id}/execute',
      '202 POST /v1/agents/{workflow_id}/execute',
      '200 GET /v1/agents/{execution_id}/status',
      '404 GET /v1/agents/{execution_id}/status',
      '200 GET /v1/executions/{id}',
      '200 GET /v1/executions',
      '200 GET /v1/executions/{id}/history',
      '200 GET /v1/agents/{execution_id}/receipt',
      '200 POST /v1/receipts/verify',
      '409 POST /v1/executions/{id}/cancel',
      '200 GET /v1/keys/coordinator',
      '200 GET /v1/log/checkpoint',
    ]);
    expect(seen.find((s) => s.operation === 'POST /v1/receipts/verify')?.body).toMatchObject({
      ok: true,
      level: 'full',
    });
    expect(seen.find((s) => s.operation === 'POST /v1/workflows/validate')?.body).toMatchObject({ valid: false });

    // OpenAPI 3.1 schemas are JSON Schema 2020-12; their $refs point into the document's components.
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    for (const answer of seen) {
      const [method, path] = answer.operation.split(' ') as [string, string];
      const documented = document.paths[path]?.[method.toLowerCase()]?.responses?.[String(answer.status)];
      expect(documented, `${answer.status} ${answer.operation} is not documented`).toBeDefined();
      expect(answer.contentType).toMatch(/^application\/json/);
      const schema = documented!.content?.['application/json']?.schema;
      expect(schema, `${answer.status} ${answer.operation} has no JSON schema`).toBeDefined();
      const validate = ajv.compile({ ...(schema as object), components: document.components });
      expect(validate(answer.body), `${answer.status} ${answer.operation}: ${JSON.stringify(validate.errors)}`).toBe(
        true,
      );
    }
  }, 120_000);

  it('would catch an answer that does not match (so the check above can fail)', () => {
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    const schema = document.paths['/v1/agents/{execution_id}/status']!.get!.responses!['200']!.content![
      'application/json'
    ]!.schema as object;
    const validate = ajv.compile({ ...schema, components: document.components });
    expect(validate({ executionId: 'x' })).toBe(false);
    expect(validate({ error: { code: 'not_found', message: 'no' } })).toBe(false);
  });
});
