import { describe, expect, it } from 'vitest';
import { definitionYaml, parseDefinition } from '../../../web/src/lib/definition-text.js';

/** A definition shown as YAML and read back from the checker's text. */
describe('definition text', () => {
  it('writes YAML that reads back the same, never folding a long expression', () => {
    const long = `${'$sum(values) + '.repeat(12)}1`;
    const definition = { id: 'w', steps: [{ id: 'a', depends_on: [], expression: long, input_mappings: {} }] };
    const yaml = definitionYaml(definition);
    expect(yaml.split('\n').some((line) => line.includes(long))).toBe(true);
    expect(parseDefinition(yaml)).toEqual(definition);
  });

  it('reads YAML and JSON, and nothing that is not an object', () => {
    expect(parseDefinition('id: w\nsteps: []')).toEqual({ id: 'w', steps: [] });
    expect(parseDefinition('{"id": "w"}')).toEqual({ id: 'w' });
    expect(parseDefinition('steps: [\n  - id: a')).toBeUndefined();
    expect(parseDefinition('- a')).toBeUndefined();
    expect(parseDefinition('just text')).toBeUndefined();
    expect(parseDefinition('')).toBeUndefined();
  });
});
