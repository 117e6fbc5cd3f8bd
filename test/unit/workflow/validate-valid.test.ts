import { describe, expect, it } from 'vitest';
import { jsonDigest } from '../../../src/attest/digest.js';
import { DEFAULTS } from '../../../src/workflow/limits.js';
import { validateWorkflowText } from '../../../src/workflow/load.js';
import { validateWorkflow } from '../../../src/workflow/validate.js';
import { EXAMPLE_YAML, example, step, valid, workflow } from './fixtures.js';

describe('a valid definition', () => {
  it('accepts the example definition without errors or warnings', () => {
    const result = validateWorkflowText(EXAMPLE_YAML);
    expect(result.ok).toBe(true);
    expect(result.warnings).toEqual([]);
    if (!result.ok) return;
    expect(result.summary).toEqual({
      id: 'invoice-agent',
      version: 1,
      digest: result.digest,
      steps: 2,
      depth: 2,
      width: 1,
    });
  });

  it('normalizes the example to exactly its fields plus the defaults it left out', () => {
    const { definition } = valid(example());
    expect(definition).toStrictEqual({
      id: 'invoice-agent',
      name: 'Invoice agent',
      description: 'Read an invoice and extract its total',
      version: 1,
      inputs: { type: 'object', required: ['text'], properties: { text: { type: 'string' } } },
      steps: [
        {
          id: 'normalize',
          step_type: 'data_processing',
          expression: '$uppercase(text)',
          input_mappings: { text: 'inputs.text' },
          depends_on: [],
          timeout_seconds: 300,
          retry_policy: { ...DEFAULTS.retry, non_retryable: [] },
          requires_proof: false,
          estimated_cost: 0,
        },
        {
          id: 'classify',
          step_type: 'inference',
          model_requirements: { name: 'builtin/echo' },
          input_mappings: { text: 'steps.normalize.output' },
          output_mappings: { label: '$.text' },
          depends_on: ['normalize'],
          when: "inputs.text != ''",
          timeout_seconds: 300,
          retry_policy: {
            max_attempts: 3,
            initial_backoff_ms: 200,
            backoff_multiplier: 2,
            max_backoff_ms: 10000,
            non_retryable: [],
          },
          requires_proof: false,
          estimated_cost: 1000,
        },
      ],
      outputs: { label: 'steps.classify.output.label' },
      max_execution_time: 3600,
      max_cost_budget: 1000000,
      requires_verification: true,
      verification_level: 'basic',
      concurrency: 8,
    });
  });
});

describe('defaults', () => {
  it('fills in every default of a minimal definition', () => {
    const { definition } = valid({
      id: 'minimal',
      steps: [{ id: 'only', step_type: 'data_processing', expression: '$' }],
    });
    expect(definition).toStrictEqual({
      id: 'minimal',
      name: 'minimal',
      description: '',
      version: 1,
      steps: [
        {
          id: 'only',
          step_type: 'data_processing',
          expression: '$',
          depends_on: [],
          timeout_seconds: 300,
          retry_policy: {
            max_attempts: DEFAULTS.retry.max_attempts,
            initial_backoff_ms: DEFAULTS.retry.initial_backoff_ms,
            backoff_multiplier: DEFAULTS.retry.backoff_multiplier,
            max_backoff_ms: DEFAULTS.retry.max_backoff_ms,
            non_retryable: [],
          },
          requires_proof: false,
          estimated_cost: 0,
        },
      ],
      max_execution_time: 3600,
      max_cost_budget: 0,
      requires_verification: true,
      verification_level: 'basic',
      concurrency: 8,
    });
  });

  it('uses the documented default values', () => {
    expect(DEFAULTS.retry).toEqual({
      max_attempts: 3,
      initial_backoff_ms: 1000,
      backoff_multiplier: 2,
      max_backoff_ms: 60_000,
    });
  });

  it('fills in the missing fields of a partial retry_policy', () => {
    const { definition } = valid(workflow([step('a', { retry_policy: { max_attempts: 7 } })]));
    expect(definition.steps[0]!.retry_policy).toEqual({ ...DEFAULTS.retry, max_attempts: 7, non_retryable: [] });
  });

  it('dedupes and sorts non_retryable error codes', () => {
    const { definition } = valid(
      workflow([step('a', { retry_policy: { non_retryable: ['timeout', 'bad_input', 'timeout'] } })]),
    );
    expect(definition.steps[0]!.retry_policy.non_retryable).toEqual(['bad_input', 'timeout']);
  });

  it('keeps optional step fields only when they are written', () => {
    const { definition } = valid(
      workflow([
        step('plain'),
        {
          id: 'model',
          name: 'Model step',
          description: 'runs a model',
          step_type: 'training',
          model_requirements: { name: 'm', version: '2', digest: 'a'.repeat(64) },
        },
      ]),
    );
    const [plain, model] = definition.steps;
    expect(Object.keys(plain!).sort()).toEqual(
      [
        'depends_on',
        'estimated_cost',
        'expression',
        'id',
        'requires_proof',
        'retry_policy',
        'step_type',
        'timeout_seconds',
      ].sort(),
    );
    expect(model).toMatchObject({
      name: 'Model step',
      description: 'runs a model',
      model_requirements: { name: 'm', version: '2', digest: 'a'.repeat(64) },
    });
    expect(definition.inputs).toBeUndefined();
    expect('outputs' in definition).toBe(false);
  });
});

describe('normalized depends_on', () => {
  it('is the sorted union of depends_on, the dependencies map and the steps read by input_mappings and when', () => {
    const { definition } = valid(
      workflow(
        [
          step('e'),
          step('c'),
          step('b'),
          step('a'),
          step('f'),
          step('d', {
            depends_on: ['c', 'a'],
            input_mappings: { x: 'steps.e.output', y: '$$.steps.f.output' },
            when: "steps.a.status = 'ok'",
          }),
        ],
        { dependencies: { d: ['b', 'c'] } },
      ),
    );
    expect(definition.steps.find((s) => s.id === 'd')!.depends_on).toEqual(['a', 'b', 'c', 'e', 'f']);
    expect(definition.steps.filter((s) => s.id !== 'd').every((s) => s.depends_on.length === 0)).toBe(true);
  });

  it('takes a dependency from a when condition alone', () => {
    const { definition } = valid(workflow([step('a'), step('b', { when: 'steps.a.output.ok' })]));
    expect(definition.steps[1]!.depends_on).toEqual(['a']);
  });

  it('takes a dependency from `$.steps.<id>` at the root of a mapping', () => {
    const { definition } = valid(workflow([step('a'), step('b', { input_mappings: { x: '$.steps.a.output' } })]));
    expect(definition.steps[1]!.depends_on).toEqual(['a']);
  });

  it('does not take dependencies from expression or output_mappings (they read the step input and result)', () => {
    const { definition } = valid(
      workflow([step('a'), step('b', { expression: 'steps.a.output', output_mappings: { y: 'steps.a.output' } })]),
    );
    expect(definition.steps[1]!.depends_on).toEqual([]);
  });

  it('does not keep the dependencies map in the normalized form', () => {
    const { definition } = valid(workflow([step('a'), step('b')], { dependencies: { b: ['a'] } }));
    expect('dependencies' in definition).toBe(false);
    expect(definition.steps[1]!.depends_on).toEqual(['a']);
  });

  it('lists a dependency once even when it is written several ways', () => {
    const { definition } = valid(
      workflow([step('a'), step('b', { depends_on: ['a', 'a'], input_mappings: { x: 'steps.a.output' } })], {
        dependencies: { b: ['a'] },
      }),
    );
    expect(definition.steps[1]!.depends_on).toEqual(['a']);
  });
});

describe('summary', () => {
  it('describes a linear chain: depth is its length, width 1', () => {
    const result = valid(
      workflow([
        step('a'),
        step('b', { depends_on: ['a'] }),
        step('c', { depends_on: ['b'] }),
        step('d', { depends_on: ['c'] }),
      ]),
    );
    expect(result.summary).toEqual({ id: 'wf', version: 1, digest: result.digest, steps: 4, depth: 4, width: 1 });
  });

  it('describes a diamond: depth 3, width 2', () => {
    const { summary } = valid(
      workflow([
        step('a'),
        step('b', { depends_on: ['a'] }),
        step('c', { input_mappings: { x: 'steps.a.output' } }),
        step('d', { depends_on: ['b', 'c'] }),
      ]),
    );
    expect([summary.steps, summary.depth, summary.width]).toEqual([4, 3, 2]);
  });

  it('describes a fan-out: depth 2, width the number of branches', () => {
    const { summary } = valid(
      workflow([step('root'), ...['b1', 'b2', 'b3', 'b4'].map((id) => step(id, { depends_on: ['root'] }))]),
    );
    expect([summary.steps, summary.depth, summary.width]).toEqual([5, 2, 4]);
  });

  it('puts a step on the level after its deepest dependency', () => {
    // c depends on a (level 0) and b (level 1), so c is on level 2: depth 3, every level one step wide.
    const { summary } = valid(
      workflow([step('a'), step('b', { depends_on: ['a'] }), step('c', { depends_on: ['a', 'b'] })]),
    );
    expect([summary.depth, summary.width]).toEqual([3, 1]);
  });

  it('validates a 10,000-step chain in which each step depends on the next one listed', () => {
    // Listed backwards, so the cycle search from s0 has to go 10,000 deep.
    const n = 10_000;
    const steps = Array.from({ length: n }, (_, i) => step(`s${i}`, i + 1 < n ? { depends_on: [`s${i + 1}`] } : {}));
    const { summary, definition } = valid(workflow(steps));
    expect([summary.steps, summary.depth, summary.width]).toEqual([n, n, 1]);
    expect(definition.steps[0]!.depends_on).toEqual(['s1']);
  });

  it('describes independent steps: depth 1, width all of them', () => {
    const { summary } = valid(workflow([step('a'), step('b'), step('c')], { version: 4 }));
    expect(summary).toMatchObject({ version: 4, steps: 3, depth: 1, width: 3 });
  });
});

describe('digest', () => {
  const digestOf = (raw: unknown): string => valid(raw).digest;

  it('is 64 lowercase hex, the SHA-256 of the canonical normalized definition', () => {
    const result = valid(example());
    expect(result.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(result.digest).toBe(jsonDigest(result.definition));
    expect(result.summary.digest).toBe(result.digest);
  });

  it('is the same for the YAML text, the JSON text and the object of one definition', () => {
    const fromYaml = validateWorkflowText(EXAMPLE_YAML);
    const fromJson = validateWorkflowText(JSON.stringify(example(), null, 2));
    const fromObject = validateWorkflow(example());
    expect(fromYaml.ok && fromJson.ok && fromObject.ok).toBe(true);
    if (!fromYaml.ok || !fromJson.ok || !fromObject.ok) return;
    expect(fromJson.digest).toBe(fromYaml.digest);
    expect(fromObject.digest).toBe(fromYaml.digest);
    expect(fromJson.definition).toStrictEqual(fromYaml.definition);
  });

  it('does not depend on the order of keys', () => {
    const reordered = {
      concurrency: 8,
      verification_level: 'basic',
      requires_verification: true,
      max_cost_budget: 1000000,
      max_execution_time: 3600,
      outputs: { label: 'steps.classify.output.label' },
      steps: (example().steps as Record<string, unknown>[]).map((s) => Object.fromEntries(Object.entries(s).reverse())),
      inputs: { properties: { text: { type: 'string' } }, required: ['text'], type: 'object' },
      version: 1,
      description: 'Read an invoice and extract its total',
      name: 'Invoice agent',
      id: 'invoice-agent',
    };
    expect(Object.keys(reordered)[0]).toBe('concurrency');
    expect(digestOf(reordered)).toBe(digestOf(example()));
  });

  it('does not depend on how equivalent dependencies are written', () => {
    const steps = (dependsOn: string[]) => [step('a'), step('b'), step('c', { depends_on: dependsOn })];
    const base = digestOf(workflow(steps(['a', 'b'])));
    expect(digestOf(workflow(steps(['b', 'a'])))).toBe(base);
    expect(digestOf(workflow(steps(['a', 'b', 'a'])))).toBe(base);
    expect(digestOf(workflow(steps([]), { dependencies: { c: ['a', 'b'] } }))).toBe(base);
    expect(digestOf(workflow(steps(['b']), { dependencies: { c: ['a'] } }))).toBe(base);
  });

  it('does not change when an implied dependency is also written out', () => {
    const reads = { input_mappings: { x: 'steps.a.output' } };
    expect(digestOf(workflow([step('a'), step('b', { ...reads, depends_on: ['a'] })]))).toBe(
      digestOf(workflow([step('a'), step('b', reads)])),
    );
  });

  it('does not change when defaults are written out', () => {
    const explicit = workflow(
      [
        step('a', {
          depends_on: [],
          timeout_seconds: 300,
          retry_policy: { ...DEFAULTS.retry, non_retryable: [] },
          requires_proof: false,
          estimated_cost: 0,
        }),
      ],
      {
        name: 'wf',
        description: '',
        version: 1,
        max_execution_time: 3600,
        max_cost_budget: 0,
        requires_verification: true,
        verification_level: 'basic',
        concurrency: 8,
      },
    );
    expect(digestOf(explicit)).toBe(digestOf(workflow([step('a')])));
  });

  const stepAt = (raw: Record<string, unknown>, i: number): Record<string, unknown> =>
    (raw.steps as Record<string, unknown>[])[i]!;
  const changes: [string, (raw: Record<string, unknown>) => void][] = [
    ['id', (r) => (r.id = 'invoice-agent-2')],
    ['name', (r) => (r.name = 'Invoice agent 2')],
    ['description', (r) => (r.description = 'other')],
    ['version', (r) => (r.version = 2)],
    ['inputs schema', (r) => (r.inputs = { type: 'object' })],
    ['outputs', (r) => (r.outputs = { label: 'steps.classify.output' })],
    ['max_execution_time', (r) => (r.max_execution_time = 60)],
    ['max_cost_budget', (r) => (r.max_cost_budget = 5000)],
    ['requires_verification', (r) => (r.requires_verification = false)],
    ['verification_level', (r) => (r.verification_level = 'full')],
    ['concurrency', (r) => (r.concurrency = 2)],
    ['step expression', (r) => (stepAt(r, 0).expression = '$lowercase(text)')],
    ['step input mapping', (r) => (stepAt(r, 0).input_mappings = { text: 'inputs.body' })],
    ['step output mapping', (r) => (stepAt(r, 1).output_mappings = { label: '$.label' })],
    ['step when', (r) => (stepAt(r, 1).when = 'true')],
    ['step model', (r) => (stepAt(r, 1).model_requirements = { name: 'builtin/other' })],
    ['step model version', (r) => (stepAt(r, 1).model_requirements = { name: 'builtin/echo', version: '1' })],
    ['step type', (r) => (stepAt(r, 1).step_type = 'training')],
    ['step timeout', (r) => (stepAt(r, 1).timeout_seconds = 301)],
    ['step retry attempts', (r) => (stepAt(r, 1).retry_policy = { max_attempts: 4 })],
    ['step non_retryable', (r) => (stepAt(r, 1).retry_policy = { non_retryable: ['x'] })],
    ['step requires_proof', (r) => (stepAt(r, 1).requires_proof = true)],
    ['step estimated_cost', (r) => (stepAt(r, 1).estimated_cost = 1001)],
    ['step name', (r) => (stepAt(r, 1).name = 'Classify')],
    ['step id', (r) => (stepAt(r, 0).id = 'norm')],
    ['a new dependency', (r) => (r.steps = [...(r.steps as unknown[]), step('extra', { depends_on: ['classify'] })])],
    ['step order', (r) => (r.steps = [...(r.steps as unknown[])].reverse())],
  ];

  it.each(changes)('changes when the %s changes', (_name, change) => {
    const changed = example();
    change(changed);
    // Keep the definition valid after a rename so that the digest, not an error, is compared.
    if (stepAt(changed, 0).id === 'norm') {
      stepAt(changed, 1).input_mappings = { text: 'steps.norm.output' };
      stepAt(changed, 1).depends_on = ['norm'];
    }
    expect(digestOf(changed)).not.toBe(digestOf(example()));
  });
});
