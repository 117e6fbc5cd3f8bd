import { parse, stringify } from 'yaml';

/**
 * A definition as YAML, the way a publisher writes one: keys in the order the server keeps them, long
 * expressions never folded (a folded JSONata line would read as a different expression).
 */
export function definitionYaml(definition: unknown): string {
  return stringify(definition, { lineWidth: 0, aliasDuplicateObjects: false });
}

/**
 * The checker's text read the way the server reads it (YAML, of which JSON is a part), to draw the graph
 * and place the issues on it. Undefined when it does not parse: the server's answer then says where.
 */
export function parseDefinition(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
