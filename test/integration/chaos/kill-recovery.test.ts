import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../../src/store/open-store.js';
import type { Store } from '../../../src/store/store.js';
import { BACKENDS, backendAvailable, createBackend } from '../../support/backends.js';
import type { BackendFixture } from '../../support/backends.js';
import { runCli, spawnCli } from '../../support/cli.js';

/**
 * kill -9 in the middle of an execution, then `verity resume`: the execution completes with the same result
 * as an uninterrupted run, every step has exactly one result, and no step that had completed ran again.
 */
const STEPS = 6;
const workflow = [
  'id: crash-me',
  'steps:',
  ...Array.from({ length: STEPS }, (_, i) =>
    [
      `  - id: s${i}`,
      '    step_type: inference',
      '    model_requirements: { name: builtin/sleep }',
      `    input_mappings: { ms: "400", acc: "${i === 0 ? 'inputs.seed' : `steps.s${i - 1}.output.acc`} * 3 + ${i}" }`,
    ].join('\n'),
  ),
  `outputs: { acc: "steps.s${STEPS - 1}.output.acc" }`,
].join('\n');

// seed 1: acc_i = acc_{i-1} * 3 + i
const expected = Array.from({ length: STEPS }, (_, i) => i).reduce((acc, i) => acc * 3 + i, 1);

async function waitUntil<T>(probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`kill -9 recovery (${kind})`, () => {
    let backend: BackendFixture;
    let store: Store | undefined;
    afterEach(async () => {
      await store?.close();
      store = undefined;
      await backend.cleanup();
    });

    it('completes after a kill -9 mid-execution with the same result and no completed step run again', async () => {
      backend = await createBackend(kind, 'kill');
      const file = join(backend.dataDir, 'crash.yaml');
      writeFileSync(file, workflow);
      store = await openStore({ dataDir: backend.dataDir, databaseUrl: backend.databaseUrl });

      const victim = spawnCli(['run', file, '--input', '{"seed": 1}', '--json'], backend.env);
      // Kill while s2 is running: s0 and s1 have results, s2 has a job in flight.
      const { executionId } = await waitUntil(async () => {
        const [execution] = await store!.read.listExecutions({});
        if (!execution) return undefined;
        const steps = await store!.read.listSteps(execution.id);
        const s2 = steps.find((s) => s.stepId === 's2');
        return s2?.status === 'running' ? { executionId: execution.id } : undefined;
      });
      victim.kill('SIGKILL');
      const killed = await victim.output;
      expect(killed.signal).toBe('SIGKILL');

      const before = await store.read.getStepResults(executionId);
      expect(before.map((r) => r.stepId).sort()).toEqual(['s0', 's1']);
      expect((await store.read.getExecution(executionId))!.status).toBe('running');

      const resumed = await runCli(['resume', '--json'], backend.env);
      expect(resumed.code).toBe(0);
      expect(JSON.parse(resumed.stdout)).toEqual([{ executionId, workflowId: 'crash-me', status: 'completed' }]);

      const execution = (await store.read.getExecution(executionId))!;
      expect(execution.status).toBe('completed');
      expect(execution.result).toEqual({ acc: expected });

      // Exactly one result per step; the results from before the crash are untouched.
      const after = await store.read.getStepResults(executionId);
      expect(after.map((r) => r.stepId).sort()).toEqual(Array.from({ length: STEPS }, (_, i) => `s${i}`));
      for (const result of before) expect(after.find((r) => r.stepId === result.stepId)).toEqual(result);

      // s0 and s1 ran once; s2 ran twice (its first attempt died with the process); the rest once.
      const jobs = await store.read.listJobs(executionId);
      const attempts = (stepId: string) => jobs.filter((j) => j.stepId === stepId);
      expect(attempts('s0')).toHaveLength(1);
      expect(attempts('s1')).toHaveLength(1);
      expect(attempts('s2').map((j) => [j.attempt, j.status, j.error?.code ?? null])).toEqual([
        [1, 'expired', 'worker_died'],
        [2, 'completed', null],
      ]);
      for (const id of ['s3', 's4', 's5']) expect(attempts(id)).toHaveLength(1);

      // And the result is the one an uninterrupted run gives.
      const clean = await runCli(['run', file, '--input', '{"seed": 1}', '--json'], backend.env);
      expect(clean.code).toBe(0);
      expect((JSON.parse(clean.stdout) as { result: unknown }).result).toEqual(execution.result);
      expect(
        (await store.read.getExecution((JSON.parse(clean.stdout) as { executionId: string }).executionId))!
          .resultDigest,
      ).toBe(execution.resultDigest);
    });

    it('survives being killed repeatedly, at different points', async () => {
      backend = await createBackend(kind, 'kill2');
      const file = join(backend.dataDir, 'crash.yaml');
      writeFileSync(file, workflow);
      store = await openStore({ dataDir: backend.dataDir, databaseUrl: backend.databaseUrl });

      const first = spawnCli(['run', file, '--input', '{"seed": 1}', '--json'], backend.env);
      const executionId = await waitUntil(async () => (await store!.read.listExecutions({}))[0]?.id);
      const completedCount = async () => (await store!.read.getStepResults(executionId)).length;
      await waitUntil(async () => ((await completedCount()) >= 1 ? true : undefined));
      first.kill('SIGKILL');
      await first.output;

      // Resume, and kill the resuming process too, a little further along.
      const done = await completedCount();
      const second = spawnCli(['resume'], backend.env);
      await waitUntil(async () => ((await completedCount()) >= done + 2 ? true : undefined));
      second.kill('SIGKILL');
      await second.output;

      const final = await runCli(['resume', '--json'], backend.env);
      expect(final.code).toBe(0);
      const execution = (await store.read.getExecution(executionId))!;
      expect(execution).toMatchObject({ status: 'completed', result: { acc: expected } });
      const results = await store.read.getStepResults(executionId);
      expect(results).toHaveLength(STEPS);
      // No step has a job after its completed one: nothing ran again once it had a result.
      const jobs = await store.read.listJobs(executionId);
      for (const result of results) {
        const own = jobs.filter((j) => j.stepId === result.stepId);
        expect(own.at(-1)!.id).toBe(result.jobId);
        expect(own.filter((j) => j.status === 'completed')).toHaveLength(1);
      }
    });
  });
}
