import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ExecutorContext, ExecutorJob } from '../../../src/executors/executor.js';
import { ExecutorError } from '../../../src/executors/executor.js';
import { defineExecutor, moduleDigest } from '../../../src/worker/sdk/define-executor.js';
import { checkExecutors, isExecutor, loadExecutorsModule } from '../../../src/worker/sdk/load-executors.js';
import { WorkerSdkError } from '../../../src/worker/sdk/errors.js';
import { BuiltinExecutor } from '../../../src/executors/builtin/builtin-executor.js';

function job(input: unknown, overrides: Partial<ExecutorJob> = {}): ExecutorJob {
  return {
    jobId: 'j1',
    executionId: 'e1',
    stepId: 'summarize',
    attempt: 1,
    stepType: 'inference',
    spec: { workflowDigest: 'd'.repeat(64), model: { name: 'acme/summarize' } } as ExecutorJob['spec'],
    input,
    maxCost: 100,
    deadlineAt: Date.now() + 10_000,
    ...overrides,
  };
}

const context: ExecutorContext = {
  signal: new AbortController().signal,
  blobs: {
    get: () => Promise.reject(new Error('no blobs here')),
    put: () => Promise.reject(new Error('no blobs here')),
  },
};

const summarize = defineExecutor({
  name: 'acme/summarize',
  version: '2',
  stepTypes: ['inference'],
  input: z.object({ text: z.string(), items: z.array(z.object({ n: z.number() })).default([]) }),
  output: z.object({ summary: z.string() }),
  run: ({ text }, ctx) => {
    ctx.reportCost(7, { tokens: 3 });
    return { summary: text.slice(0, 5) };
  },
});

async function failure(promise: Promise<unknown>): Promise<ExecutorError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ExecutorError);
  return error as ExecutorError;
}

describe('defineExecutor', () => {
  it('serves its name as a model, with its code digest, and says what ran in the result', async () => {
    expect(summarize.capabilities).toEqual({
      stepTypes: [],
      models: ['acme/summarize'],
      modelDigests: { 'acme/summarize': summarize.digest },
    });
    expect(summarize.name).toBe('acme/summarize@2');
    expect(summarize.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(await summarize.run(job({ text: 'hello world' }), context)).toEqual({
      output: { summary: 'hello' },
      cost: 7,
      usage: { tokens: 3 },
      model: { name: 'acme/summarize', version: '2', digest: summarize.digest },
    });
  });

  it('without reportCost, reports no cost (the worker charges the estimate)', async () => {
    const plain = defineExecutor({ name: 'acme/plain', version: '1', run: (input) => input });
    const result = await plain.run(
      job({ a: 1 }, { spec: { workflowDigest: 'd', model: { name: 'acme/plain' } } as ExecutorJob['spec'] }),
      context,
    );
    expect(result).toEqual({ output: { a: 1 }, model: { name: 'acme/plain', version: '1', digest: plain.digest } });
  });

  it('the default digest follows the code: another run body or version gives another digest, the same gives the same', () => {
    const a = defineExecutor({ name: 'acme/x', version: '1', run: () => 1 });
    const same = defineExecutor({ name: 'acme/x', version: '1', run: () => 1 });
    const otherCode = defineExecutor({ name: 'acme/x', version: '1', run: () => 2 });
    const otherVersion = defineExecutor({ name: 'acme/x', version: '2', run: () => 1 });
    expect(same.digest).toBe(a.digest);
    expect(otherCode.digest).not.toBe(a.digest);
    expect(otherVersion.digest).not.toBe(a.digest);
    const pinned = defineExecutor({ name: 'acme/x', version: '1', digest: 'b'.repeat(64), run: () => 1 });
    expect(pinned.digest).toBe('b'.repeat(64));
  });

  it('moduleDigest is the SHA-256 of the module file, from a file URL or a path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'verity-module-digest-'));
    const file = join(dir, 'm.mjs');
    writeFileSync(file, 'export const x = 1;\n');
    const expected = createHash('sha256').update('export const x = 1;\n').digest('hex');
    expect(moduleDigest(pathToFileURL(file).href)).toBe(expected);
    expect(moduleDigest(pathToFileURL(file))).toBe(expected);
    expect(moduleDigest(file)).toBe(expected);
  });

  it('a bad input fails with bad_request naming the field, not retryable; run is never called', async () => {
    let called = false;
    const strict = defineExecutor({
      name: 'acme/strict',
      version: '1',
      input: z.object({ text: z.string(), items: z.array(z.object({ n: z.number() })) }),
      run: () => {
        called = true;
        return {};
      },
    });
    const error = await failure(strict.run(job({ text: 3, items: [{ n: 1 }, { n: 'two' }] }), context));
    expect(error.code).toBe('bad_request');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('input.text');
    expect(error.message).toContain('input.items[1].n');
    expect(called).toBe(false);
  });

  it('an output its schema refuses, or one that is not JSON, fails with bad_output, not retryable', async () => {
    const wrong = defineExecutor({
      name: 'acme/wrong',
      version: '1',
      output: z.object({ n: z.number() }),
      run: () => ({ n: 'x' }) as unknown as { n: number },
    });
    const refused = await failure(wrong.run(job({}), context));
    expect(refused).toMatchObject({ code: 'bad_output', retryable: false });
    expect(refused.message).toContain('output.n');
    const notJson = defineExecutor({ name: 'acme/nan', version: '1', run: () => ({ n: Number.NaN }) });
    expect(await failure(notJson.run(job({}), context))).toMatchObject({ code: 'bad_output', retryable: false });
  });

  it('refuses a step type it does not list (not retryable), and another version than the step asks for (retryable)', async () => {
    expect(await failure(summarize.run(job({ text: 'x' }, { stepType: 'training' }), context))).toMatchObject({
      code: 'bad_request',
      retryable: false,
    });
    const asksV3 = job(
      { text: 'x' },
      {
        spec: { workflowDigest: 'd', model: { name: 'acme/summarize', version: '3' } } as ExecutorJob['spec'],
      },
    );
    const mismatch = await failure(summarize.run(asksV3, context));
    expect(mismatch).toMatchObject({ code: 'version_mismatch', retryable: true });
    expect(mismatch.message).toContain('asks for acme/summarize 3; this worker has 2');
  });

  it('reportCost takes whole non-negative micro-units and finite usage only', async () => {
    for (const cost of [-1, 1.5, Number.NaN]) {
      const bad = defineExecutor({ name: 'acme/cost', version: '1', run: (_, ctx) => ctx.reportCost(cost) });
      await expect(bad.run(job({}), context)).rejects.toThrow(/reportCost/);
    }
    const badUsage = defineExecutor({
      name: 'acme/usage',
      version: '1',
      run: (_, ctx) => ctx.reportCost(1, { tokens: Infinity }),
    });
    await expect(badUsage.run(job({}), context)).rejects.toThrow(/usage\.tokens/);
  });

  it('refuses definitions that could not work, saying what to change', () => {
    const run = () => null;
    expect(() => defineExecutor({ name: 'summarize', version: '1', run })).toThrow(/namespace and a name/);
    expect(() => defineExecutor({ name: 'Acme/Sum', version: '1', run })).toThrow(/lowercase/);
    expect(() => defineExecutor({ name: 'builtin/echo', version: '1', run })).toThrow(/built-ins/);
    expect(() => defineExecutor({ name: 'data/map', version: '1', run })).toThrow(/built-ins/);
    expect(() => defineExecutor({ name: 'acme/x', version: '', run })).toThrow(/version/);
    expect(() => defineExecutor({ name: 'acme/x', version: '1', stepTypes: [], run })).toThrow(/stepTypes/);
    expect(() => defineExecutor({ name: 'acme/x', version: '1', stepTypes: ['cooking' as 'inference'], run })).toThrow(
      /stepTypes/,
    );
    expect(() => defineExecutor({ name: 'acme/x', version: '1', digest: 'abc', run })).toThrow(/digest/);
    expect(() => defineExecutor({ name: 'acme/x', version: '1', input: { parse: () => 1 } as never, run })).toThrow(
      /Standard Schema/,
    );
  });
});

describe('loading executors', () => {
  it('isExecutor tells executors from other exports', () => {
    expect(isExecutor(summarize)).toBe(true);
    expect(isExecutor(new BuiltinExecutor())).toBe(true);
    expect(isExecutor({ name: 'x' })).toBe(false);
    expect(isExecutor(null)).toBe(false);
  });

  it('checkExecutors refuses two executors serving one name', () => {
    const twin = defineExecutor({ name: 'acme/summarize', version: '9', run: () => 1 });
    expect(() => checkExecutors([summarize, twin])).toThrow(WorkerSdkError);
    expect(() => checkExecutors([summarize, twin])).toThrow(/both serve acme\/summarize/);
    expect(() => checkExecutors([summarize, new BuiltinExecutor()])).not.toThrow();
  });

  it('loads a default list, a single default, or named exports, and explains a module with none', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'verity-load-executors-'));
    const fake = (name: string) =>
      `{ name: '${name}', capabilities: { stepTypes: [], models: ['${name}'] }, run: async () => ({ output: 1 }) }`;
    writeFileSync(join(dir, 'list.mjs'), `export default [${fake('a/one')}, ${fake('a/two')}];`);
    writeFileSync(join(dir, 'single.mjs'), `export default ${fake('a/one')};`);
    writeFileSync(join(dir, 'named.mjs'), `export const one = ${fake('a/one')}; export const other = 42;`);
    writeFileSync(join(dir, 'none.mjs'), 'export const other = 42;');
    writeFileSync(join(dir, 'bad-default.mjs'), `export default [${fake('a/one')}, 42];`);
    writeFileSync(join(dir, 'broken.mjs'), 'export const = ;');
    expect((await loadExecutorsModule(join(dir, 'list.mjs'))).map((e) => e.name)).toEqual(['a/one', 'a/two']);
    expect((await loadExecutorsModule(join(dir, 'single.mjs'))).map((e) => e.name)).toEqual(['a/one']);
    expect((await loadExecutorsModule(join(dir, 'named.mjs'))).map((e) => e.name)).toEqual(['a/one']);
    await expect(loadExecutorsModule(join(dir, 'none.mjs'))).rejects.toThrow(/exports no executor/);
    await expect(loadExecutorsModule(join(dir, 'bad-default.mjs'))).rejects.toThrow(
      /default export\[1\] is not an executor/,
    );
    await expect(loadExecutorsModule(join(dir, 'broken.mjs'))).rejects.toThrow(/cannot load it/);
    await expect(loadExecutorsModule(join(dir, 'missing.mjs'))).rejects.toThrow(/cannot load it/);
  });
});
