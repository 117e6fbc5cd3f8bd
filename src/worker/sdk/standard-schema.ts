/**
 * The Standard Schema interface (standardschema.dev), the part a validator needs: zod 4, Valibot and
 * ArkType all implement it, so an executor's input and output can be described with whichever the user
 * has, and this package depends on none of them for it.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

export type StandardResult<Output> =
  { readonly value: Output; readonly issues?: undefined } | { readonly issues: readonly StandardIssue[] };

export interface StandardIssue {
  readonly message: string;
  readonly path?: readonly (PropertyKey | { readonly key: PropertyKey })[] | undefined;
}

/** What a schema makes of a value. */
export type InferOutput<S> = S extends StandardSchemaV1<unknown, infer O> ? O : never;

export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  const standard = (value as { '~standard'?: { version?: unknown; validate?: unknown } } | null)?.['~standard'];
  return (
    typeof standard === 'object' &&
    standard !== null &&
    standard.version === 1 &&
    typeof standard.validate === 'function'
  );
}

/** `input.items[2].text: Expected string` for each issue, at most five, so a step's error stays readable. */
export function describeIssues(root: string, issues: readonly StandardIssue[]): string {
  const shown = issues.slice(0, 5).map((issue) => `${pathOf(root, issue.path ?? [])}: ${issue.message}`);
  if (issues.length > shown.length) shown.push(`and ${issues.length - shown.length} more`);
  return shown.join('; ');
}

function pathOf(root: string, path: readonly (PropertyKey | { readonly key: PropertyKey })[]): string {
  let text = root;
  for (const segment of path) {
    const key = typeof segment === 'object' ? segment.key : segment;
    text += typeof key === 'number' ? `[${key}]` : `.${String(key)}`;
  }
  return text;
}
