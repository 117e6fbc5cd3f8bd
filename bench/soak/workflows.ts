/**
 * The soak's workflows and, for each, what an execution on given inputs must end as. Every transient
 * failure is a function of the seed: an execution's inputs say which of its steps fail their first attempt
 * (`builtin/flaky` with `fail_times` 1), so a rerun with the same seed fails the same steps.
 */

/** A small, fast PRNG (mulberry32): the same seed gives the same run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Family = 'chain' | 'fanout' | 'conditional' | 'redundant' | 'doomed';

/** What an execution must end as: its status, its result, and the status of chosen steps. */
export interface Expected {
  status: 'completed' | 'failed';
  result?: unknown;
  steps: Record<string, 'completed' | 'skipped' | 'failed'>;
  /** For a failed execution: the code of the failed step's error. */
  stepError?: { stepId: string; code: string };
}

export interface Planned {
  index: number;
  family: Family;
  workflowId: string;
  inputs: { n: number; fail: Record<string, 0 | 1>; doom?: boolean };
  expected: Expected;
  /** How many steps fail their first attempt on purpose. */
  transientFailures: number;
}

/** What the soak's workers serve: its workflows need nothing else, and a worker with models to load restarts slowly. */
export const CAPABILITIES = ['data_processing', 'builtin/echo', 'builtin/flaky', 'builtin/fail'] as const;

// Lost leases (a killed worker or server) cost attempts too: enough of them that chaos never exhausts a step.
const RETRY = { max_attempts: 10, initial_backoff_ms: 50, backoff_multiplier: 2, max_backoff_ms: 400 };

const flaky = (id: string, mappings: Record<string, string>, extra: Record<string, unknown> = {}) => ({
  id,
  step_type: 'inference',
  model_requirements: { name: 'builtin/flaky' },
  input_mappings: { ...mappings, fail_times: `inputs.fail.${id}` },
  retry_policy: RETRY,
  ...extra,
});

const transform = (
  id: string,
  mappings: Record<string, string>,
  expression: string,
  extra: Record<string, unknown> = {},
) => ({
  id,
  step_type: 'data_processing',
  input_mappings: mappings,
  expression,
  retry_policy: RETRY,
  ...extra,
});

const FANOUT_WIDTH = 5;

export const WORKFLOWS: Record<Family, Record<string, unknown>> = {
  // A chain of four: flaky, JSONata, flaky, flaky.
  chain: {
    id: 'soak-chain',
    steps: [
      flaky('s0', { v: 'inputs.n + 1' }),
      transform('s1', { v: 'steps.s0.output.v' }, "{ 'v': v * 2 }"),
      flaky('s2', { v: 'steps.s1.output.v + 3' }),
      flaky('s3', { v: 'steps.s2.output.v - 7' }),
    ],
    outputs: { result: 'steps.s3.output.v' },
  },
  // One step, five in parallel below it, and a join.
  fanout: {
    id: 'soak-fanout',
    steps: [
      flaky('split', { n: 'inputs.n' }),
      ...Array.from({ length: FANOUT_WIDTH }, (_, i) =>
        flaky(`b${i}`, { v: `steps.split.output.n * ${i + 1}` }, { depends_on: ['split'] }),
      ),
      transform(
        'join',
        { vs: `[${Array.from({ length: FANOUT_WIDTH }, (_, i) => `steps.b${i}.output.v`).join(', ')}]` },
        "{ 'sum': $sum(vs) }",
      ),
    ],
    outputs: { sum: 'steps.join.output.sum' },
  },
  // `when` picks one of two branches; the join runs either way.
  conditional: {
    id: 'soak-conditional',
    steps: [
      flaky('gate', { n: 'inputs.n' }),
      flaky('big', { label: "'big'", n: 'steps.gate.output.n' }, { when: 'steps.gate.output.n >= 50' }),
      flaky('small', { label: "'small'", n: 'steps.gate.output.n' }, { when: 'steps.gate.output.n < 50' }),
      transform(
        'after',
        { big: 'steps.big.output', small: 'steps.small.output' },
        "{ 'route': big ? big.label : small.label, 'n': big ? big.n : small.n }",
        { depends_on: ['big', 'small'], when: 'true' },
      ),
    ],
    outputs: { route: 'steps.after.output.route', n: 'steps.after.output.n' },
  },
  // A step run on three workers (of three API keys), the output the one two agree on.
  redundant: {
    id: 'soak-redundant',
    verification_level: 'full',
    steps: [
      flaky('pre', { n: 'inputs.n' }),
      {
        id: 'vote',
        step_type: 'inference',
        model_requirements: { name: 'builtin/echo' },
        input_mappings: { v: 'steps.pre.output.n * 7' },
        redundancy: { replicas: 3, quorum: 2 },
        retry_policy: RETRY,
      },
      transform('post', { v: 'steps.vote.output.v' }, "{ 'v': v + 1 }"),
    ],
    outputs: { v: 'steps.post.output.v' },
  },
  // Fails for good (a non-retryable error) when its input says so, else completes around the skipped step.
  doomed: {
    id: 'soak-doomed',
    steps: [
      flaky('s0', { v: 'inputs.n' }),
      {
        id: 'fatal',
        step_type: 'inference',
        model_requirements: { name: 'builtin/fail' },
        depends_on: ['s0'],
        when: 'inputs.doom = true',
        input_mappings: { code: "'soak_doomed'", retryable: 'false' },
        retry_policy: RETRY,
      },
      transform('tail', { v: 'steps.s0.output.v' }, "{ 'v': v * 3 }", { depends_on: ['fatal'], when: 'true' }),
    ],
    outputs: { v: 'steps.tail.output.v' },
  },
};

/** The steps of each workflow that fail their first attempt when the inputs say so. */
const FLAKY_STEPS: Record<Family, string[]> = {
  chain: ['s0', 's2', 's3'],
  fanout: ['split', ...Array.from({ length: FANOUT_WIDTH }, (_, i) => `b${i}`)],
  conditional: ['gate', 'big', 'small'],
  redundant: ['pre'],
  doomed: ['s0'],
};

const MIX: [Family, number][] = [
  ['chain', 0.3],
  ['fanout', 0.2],
  ['conditional', 0.2],
  ['redundant', 0.15],
  ['doomed', 0.15],
];

function expectedOf(family: Family, n: number, doom: boolean): Expected {
  switch (family) {
    case 'chain':
      return {
        status: 'completed',
        result: { result: (n + 1) * 2 + 3 - 7 },
        steps: { s0: 'completed', s1: 'completed', s2: 'completed', s3: 'completed' },
      };
    case 'fanout': {
      const steps: Expected['steps'] = { split: 'completed', join: 'completed' };
      for (let i = 0; i < FANOUT_WIDTH; i++) steps[`b${i}`] = 'completed';
      return { status: 'completed', result: { sum: (n * FANOUT_WIDTH * (FANOUT_WIDTH + 1)) / 2 }, steps };
    }
    case 'conditional': {
      const big = n >= 50;
      return {
        status: 'completed',
        result: { route: big ? 'big' : 'small', n },
        steps: {
          gate: 'completed',
          big: big ? 'completed' : 'skipped',
          small: big ? 'skipped' : 'completed',
          after: 'completed',
        },
      };
    }
    case 'redundant':
      return {
        status: 'completed',
        result: { v: n * 7 + 1 },
        steps: { pre: 'completed', vote: 'completed', post: 'completed' },
      };
    case 'doomed':
      return doom
        ? {
            status: 'failed',
            steps: { s0: 'completed', fatal: 'failed' },
            stepError: { stepId: 'fatal', code: 'soak_doomed' },
          }
        : {
            status: 'completed',
            result: { v: n * 3 },
            steps: { s0: 'completed', fatal: 'skipped', tail: 'completed' },
          };
  }
}

/** The executions of a run: which workflow, which inputs, and what each must end as. */
export function plan(executions: number, seed: number, failureRate = 0.1): Planned[] {
  const random = prng(seed);
  const out: Planned[] = [];
  for (let index = 0; index < executions; index++) {
    let pick = random();
    const family = MIX.find(([, weight]) => (pick -= weight) < 0)?.[0] ?? 'chain';
    const n = Math.floor(random() * 100);
    const fail: Record<string, 0 | 1> = {};
    for (const step of FLAKY_STEPS[family]) fail[step] = random() < failureRate ? 1 : 0;
    const doom = family === 'doomed' && random() < 0.5;
    out.push({
      index,
      family,
      workflowId: WORKFLOWS[family].id as string,
      inputs: family === 'doomed' ? { n, fail, doom } : { n, fail },
      expected: expectedOf(family, n, doom),
      // A skipped step never runs, so its planned failure does not happen.
      transientFailures: Object.entries(fail).filter(
        ([step, f]) => f === 1 && expectedOf(family, n, doom).steps[step] === 'completed',
      ).length,
    });
  }
  return out;
}
