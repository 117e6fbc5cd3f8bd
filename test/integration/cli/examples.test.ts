import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';
import { DOCUMENT_INTELLIGENCE, REVIEW_SENTIMENT, TRAIN_AND_CLASSIFY } from '../../support/example-results.js';

const dataDir = mkdtempSync(join(tmpdir(), 'verity-examples-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const cases: [string, unknown, (steps: { id: string; status: string; attempts: number }[]) => void][] = [
  [
    'linear',
    { report: 'Verity: 27 words (25 distinct, variety 0.93), longest word "workflow"', words: 27 },
    (steps) => expect(steps).toHaveLength(5),
  ],
  [
    'fan-out',
    { products: ['kettle', 'toaster'], average_stars: 3.25, average_chars: 30.8, positive: 2, negative: 1 },
    (steps) => expect(steps.map((s) => s.id)).toEqual(['prepare', 'ratings', 'length', 'keywords', 'join']),
  ],
  [
    'conditional',
    { route: 'large', summary: { review: 'completed', fast_approve: 'skipped', note: 'reviewer notified about 1250' } },
    (steps) => expect(steps.find((s) => s.id === 'fast_approve')!.status).toBe('skipped'),
  ],
  [
    'flaky',
    { fetched: 'https://example.com/data', ok: true },
    (steps) => expect(steps[0]).toMatchObject({ id: 'fetch', attempts: 3 }),
  ],
  ['fifty-steps', { total: 1275 }, (steps) => expect(steps).toHaveLength(50)],
  ['review-sentiment', REVIEW_SENTIMENT, (steps) => expect(steps.map((s) => s.id)).toEqual(['score', 'per_product'])],
  [
    'document-intelligence',
    DOCUMENT_INTELLIGENCE,
    (steps) => expect(steps.map((s) => s.id)).toEqual(['ocr', 'entities', 'fields', 'classify', 'report']),
  ],
  [
    'train-and-classify',
    TRAIN_AND_CLASSIFY,
    (steps) => expect(steps.map((s) => s.id)).toEqual(['train', 'classify', 'summary']),
  ],
];

const env = { VERITY_DATA_DIR: dataDir, VERITY_DATABASE_URL: '' };

describe('the bundled examples', () => {
  it.each(cases)(
    '%s runs to completion with `verity run`, and its receipt verifies at levels basic and full',
    async (name, result, checkSteps) => {
      const run = await runCli(
        ['run', `examples/${name}/workflow.yaml`, '--input', `@examples/${name}/input.json`, '--json'],
        env,
      );
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const outcome = JSON.parse(run.stdout) as {
        status: string;
        result: unknown;
        steps: { id: string; status: string; attempts: number }[];
      };
      expect(outcome.status).toBe('completed');
      expect(outcome.result).toEqual(result);
      checkSteps(outcome.steps);

      const key = join(dataDir, 'coordinator.pem');
      writeFileSync(key, (await runCli(['keys', 'show'], env)).stdout);
      const bundle = join(dataDir, `${name}.bundle.json`);
      const receipt = await runCli(
        ['receipt', (JSON.parse(run.stdout) as { executionId: string }).executionId, '--include-data', '-o', bundle],
        env,
      );
      expect(receipt.code).toBe(0);
      for (const level of ['basic', 'full']) {
        const verified = await runCli(['verify', bundle, '--trust', key, '--level', level], env);
        expect(verified.stdout).toMatch(new RegExp(`verified at level ${level}: execution `));
        expect(verified.code).toBe(0);
      }
    },
  );
});
