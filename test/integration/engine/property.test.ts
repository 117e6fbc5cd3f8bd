import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { echo, startTestNode, transform } from '../../support/node.js';
import type { TestNode } from '../../support/node.js';

/**
 * A random DAG: step i may depend on any earlier steps, so every generated graph is acyclic. Some steps
 * read their dependencies through mappings, some only order after them; some are models, some transforms.
 */
const dagArbitrary = fc.integer({ min: 1, max: 18 }).chain((n) =>
  fc.tuple(
    ...Array.from({ length: n }, (_, i) =>
      fc.record({
        deps:
          i === 0
            ? fc.constant<number[]>([])
            : fc.uniqueArray(fc.integer({ min: 0, max: i - 1 }), { maxLength: Math.min(i, 4) }),
        viaMapping: fc.boolean(),
        model: fc.boolean(),
      }),
    ),
  ),
);

function toDefinition(spec: { deps: number[]; viaMapping: boolean; model: boolean }[], concurrency: number) {
  return {
    id: 'random-dag',
    concurrency,
    steps: spec.map((s, i) => {
      const deps = s.deps.map((d) => `s${d}`);
      const wiring =
        s.viaMapping && deps.length > 0
          ? { input_mappings: Object.fromEntries(deps.map((d) => [d, `steps.${d}.output`])) }
          : { depends_on: deps };
      return s.model ? echo(`s${i}`, wiring) : transform(`s${i}`, `'${i}'`, wiring);
    }),
  };
}

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`random DAGs (${kind})`, () => {
    let t: TestNode;
    beforeAll(async () => {
      t = await startTestNode(kind, 'prop');
    });
    afterAll(async () => {
      await t.close();
    });

    it('run every step exactly once, and each only after all of its dependencies completed', async () => {
      await fc.assert(
        fc.asyncProperty(dagArbitrary, fc.integer({ min: 1, max: 6 }), async (spec, concurrency) => {
          const view = await t.run(toDefinition(spec, concurrency), { seed: 1 });
          expect(view.status).toBe('completed');
          const events = await t.node.store.read.listEvents(view.executionId, 0, 10_000);
          const jobs = await t.node.store.read.listJobs(view.executionId);
          const results = await t.node.store.read.getStepResults(view.executionId);
          expect(jobs).toHaveLength(spec.length);
          expect(new Set(jobs.map((j) => j.stepId)).size).toBe(spec.length);
          expect(results).toHaveLength(spec.length);
          const startedSeq = new Map(events.filter((e) => e.type === 'job.started').map((e) => [e.stepId!, e.seq]));
          const completedSeq = new Map(
            events.filter((e) => e.type === 'step.completed').map((e) => [e.stepId!, e.seq]),
          );
          expect(startedSeq.size).toBe(spec.length);
          spec.forEach((s, i) => {
            for (const d of s.deps) expect(startedSeq.get(`s${i}`)!).toBeGreaterThan(completedSeq.get(`s${d}`)!);
          });
          // At no point did more steps run at once than the workflow allows.
          let running = 0;
          for (const e of events) {
            if (e.type === 'job.started') running++;
            if (e.type === 'step.completed') running--;
            expect(running).toBeLessThanOrEqual(concurrency);
          }
        }),
        { numRuns: kind === 'sqlite' ? 40 : 15 },
      );
    });
  });
}
