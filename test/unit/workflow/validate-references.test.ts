import { describe, expect, it } from 'vitest';
import { errorsOf, example, only, step, valid, where, workflow } from './fixtures.js';
import type { Raw } from './fixtures.js';

describe('duplicate step ids', () => {
  it('reports the later duplicate and names the first', () => {
    const issue = only(errorsOf(workflow([step('a'), step('b'), step('c'), step('a')])));
    expect(issue).toEqual({
      path: 'steps[3].id',
      code: 'duplicate_id',
      message: 'duplicate step id "a" (first used by steps[0]); give each step a unique id',
    });
  });

  it('reports every later duplicate', () => {
    expect(where(errorsOf(workflow([step('a'), step('a'), step('a')])))).toEqual([
      'steps[1].id duplicate_id',
      'steps[2].id duplicate_id',
    ]);
  });
});

describe('unknown step references', () => {
  it('in depends_on', () => {
    const issue = only(errorsOf(workflow([step('a'), step('b', { depends_on: ['a', 'nope'] })])));
    expect(issue).toEqual({ path: 'steps[1].depends_on[1]', code: 'unknown_step', message: 'unknown step "nope"' });
  });

  it('in depends_on, with a suggestion for a near miss', () => {
    const raw = example();
    (raw.steps as Raw[])[1]!.depends_on = ['normalise'];
    const issue = only(errorsOf(raw));
    expect(issue).toEqual({
      path: 'steps[1].depends_on[0]',
      code: 'unknown_step',
      message: 'unknown step "normalise" (did you mean "normalize"?)',
    });
  });

  it('as a key of the dependencies map', () => {
    const issue = only(errorsOf(workflow([step('alpha'), step('beta')], { dependencies: { x: ['alpha'] } })));
    expect([issue.path, issue.code, issue.message]).toEqual(['dependencies.x', 'unknown_step', 'unknown step "x"']);
  });

  it('as a value in the dependencies map', () => {
    const issue = only(errorsOf(workflow([step('a'), step('b')], { dependencies: { a: ['zz'] } })));
    expect([issue.path, issue.code]).toEqual(['dependencies.a[0]', 'unknown_step']);
  });

  it('read by an input mapping', () => {
    const issue = only(errorsOf(workflow([step('a'), step('b', { input_mappings: { text: 'steps.zzz.output' } })])));
    expect(issue).toEqual({
      path: 'steps[1].input_mappings.text',
      code: 'unknown_step',
      message: 'reads steps.zzz, but there is no step "zzz"',
    });
  });

  it('read by a when condition', () => {
    const issue = only(errorsOf(workflow([step('a'), step('b', { when: 'steps.ghost.status = "ok"' })])));
    expect([issue.path, issue.code]).toEqual(['steps[1].when', 'unknown_step']);
  });

  it('read by a workflow output, with a suggestion', () => {
    const raw = example();
    raw.outputs = { label: 'steps.clasify.output.label' };
    const issue = only(errorsOf(raw));
    expect(issue).toEqual({
      path: 'outputs.label',
      code: 'unknown_step',
      message: 'reads steps.clasify, but there is no step "clasify" (did you mean "classify"?)',
    });
  });

  it('each reference in one expression separately', () => {
    const issues = errorsOf(
      workflow([step('fetch'), step('merge', { input_mappings: { x: 'steps.ghost.output & steps.phantom.output' } })]),
    );
    expect(issues.map((i) => [i.path, i.message])).toEqual([
      ['steps[1].input_mappings.x', 'reads steps.ghost, but there is no step "ghost"'],
      ['steps[1].input_mappings.x', 'reads steps.phantom, but there is no step "phantom"'],
    ]);
  });
});

describe('self references', () => {
  it('a step that depends on itself', () => {
    const issue = only(errorsOf(workflow([step('a', { depends_on: ['a'] })])));
    expect([issue.path, issue.code]).toEqual(['steps[0].depends_on[0]', 'self_reference']);
  });

  it('a step that depends on itself through the dependencies map', () => {
    const issue = only(errorsOf(workflow([step('a'), step('b')], { dependencies: { b: ['b'] } })));
    expect([issue.path, issue.code]).toEqual(['dependencies.b[0]', 'self_reference']);
  });

  it('a step that reads its own output in a mapping or a condition', () => {
    const issues = errorsOf(
      workflow([step('a'), step('b', { input_mappings: { x: 'steps.b.output' }, when: 'steps.b.status' })]),
    );
    expect(where(issues)).toEqual(['steps[1].input_mappings.x self_reference', 'steps[1].when self_reference']);
    expect(issues[0]!.message).toContain('cannot read its own output');
  });
});

describe('cycles', () => {
  it('names a 2-cycle from the step defined first, at the dependency that closes it', () => {
    const issue = only(errorsOf(workflow([step('a', { depends_on: ['b'] }), step('b', { depends_on: ['a'] })])));
    expect(issue).toEqual({
      path: 'steps[0].depends_on[0]',
      code: 'cycle',
      message: 'dependency cycle a -> b -> a; remove one of these dependencies',
    });
  });

  it('names a 3-cycle so that each step follows the one it depends on', () => {
    // b depends on a, c on b, a on c: a -> b -> c -> a, closed by a's depends_on.
    const issue = only(
      errorsOf(
        workflow([
          step('a', { depends_on: ['c'] }),
          step('b', { depends_on: ['a'] }),
          step('c', { depends_on: ['b'] }),
        ]),
      ),
    );
    expect(issue).toEqual({
      path: 'steps[0].depends_on[0]',
      code: 'cycle',
      message: 'dependency cycle a -> b -> c -> a; remove one of these dependencies',
    });
  });

  it('reads a cycle in execution order whatever the ids', () => {
    // x depends on z, y on x, z on y.
    const issue = only(
      errorsOf(
        workflow([
          step('z', { depends_on: ['y'] }),
          step('y', { depends_on: ['x'] }),
          step('x', { depends_on: ['z'] }),
        ]),
      ),
    );
    expect([issue.path, issue.message]).toEqual([
      'steps[0].depends_on[0]',
      'dependency cycle z -> x -> y -> z; remove one of these dependencies',
    ]);
  });

  it('reports two independent cycles separately', () => {
    const issues = errorsOf(
      workflow([
        step('a', { depends_on: ['b'] }),
        step('b', { depends_on: ['a'] }),
        step('c', { depends_on: ['d'] }),
        step('d', { depends_on: ['c'] }),
        step('e', { depends_on: ['a', 'c'] }),
      ]),
    );
    expect(issues).toEqual([
      {
        path: 'steps[0].depends_on[0]',
        code: 'cycle',
        message: 'dependency cycle a -> b -> a; remove one of these dependencies',
      },
      {
        path: 'steps[2].depends_on[0]',
        code: 'cycle',
        message: 'dependency cycle c -> d -> c; remove one of these dependencies',
      },
    ]);
  });

  it('finds a cycle closed through the dependencies map', () => {
    const issue = only(
      errorsOf(workflow([step('a'), step('b', { depends_on: ['a'] })], { dependencies: { a: ['b'] } })),
    );
    expect([issue.path, issue.code]).toEqual(['dependencies.a[0]', 'cycle']);
    expect(issue.message).toContain('a -> b -> a');
  });

  it('leaves steps that only hang off a cycle out of its name', () => {
    const issue = only(
      errorsOf(
        workflow([
          step('x'),
          step('a', { depends_on: ['b', 'x'] }),
          step('b', { depends_on: ['a'] }),
          step('c', { depends_on: ['b'] }),
        ]),
      ),
    );
    expect(issue.message).toBe('dependency cycle a -> b -> a; remove one of these dependencies');
  });
});

describe('reading a step that is not upstream', () => {
  it('reports the mapping that would close a cycle', () => {
    const issue = only(
      errorsOf(
        workflow([step('a'), step('b', { input_mappings: { x: 'steps.c.output' } }), step('c', { depends_on: ['b'] })]),
      ),
    );
    expect(issue).toEqual({
      path: 'steps[1].input_mappings.x',
      code: 'not_upstream',
      message:
        'reads steps.c, which is not upstream of "b" (it would close the cycle b -> c -> b); read only steps that run before this one',
    });
  });

  it('reports a when condition that would close a cycle', () => {
    const issue = only(errorsOf(workflow([step('a', { when: 'steps.b.output' }), step('b', { depends_on: ['a'] })])));
    expect([issue.path, issue.code]).toEqual(['steps[0].when', 'not_upstream']);
  });

  it('reports one issue when two mappings read each other', () => {
    const issue = only(
      errorsOf(
        workflow([
          step('a', { input_mappings: { x: 'steps.b.output' } }),
          step('b', { input_mappings: { y: 'steps.a.output' } }),
        ]),
      ),
    );
    expect(issue.code).toBe('not_upstream');
    expect(issue.message).toContain('it would close the cycle a -> b -> a');
  });

  it('lets outputs read any step, including the last', () => {
    valid(
      workflow([step('a'), step('b', { depends_on: ['a'] })], {
        outputs: { first: 'steps.a.output', last: 'steps.b.output' },
      }),
    );
  });
});

describe('expressions that do not parse', () => {
  const broken = '$uppercase(';
  const cases: [string, (raw: Raw) => void, string][] = [
    [
      'input_mappings',
      (r) => ((r.steps as Raw[])[0]!.input_mappings = { text: broken }),
      'steps[0].input_mappings.text',
    ],
    [
      'output_mappings',
      (r) => ((r.steps as Raw[])[1]!.output_mappings = { label: broken }),
      'steps[1].output_mappings.label',
    ],
    ['expression', (r) => ((r.steps as Raw[])[0]!.expression = broken), 'steps[0].expression'],
    ['when', (r) => ((r.steps as Raw[])[1]!.when = broken), 'steps[1].when'],
    ['outputs', (r) => (r.outputs = { label: broken }), 'outputs.label'],
  ];

  it.each(cases)('in %s', (_name, change, path) => {
    const raw = example();
    change(raw);
    const issues = errorsOf(raw).filter((i) => i.code !== 'unused_step');
    const issue = only(issues);
    expect(issue).toEqual({
      path,
      code: 'expression_syntax',
      message: 'JSONata does not parse: Expected ")" before end of expression (at character 11); fix the expression',
    });
  });

  it('reports a broken expression even when the rest of the step is wrong too', () => {
    expect(where(errorsOf(workflow([step('a', { when: '}', bogus: true })])))).toEqual([
      'steps[0].bogus unknown_field',
      'steps[0].when expression_syntax',
    ]);
  });
});
