/**
 * A form from a workflow's input JSON Schema: which fields to draw (schema → field descriptors), and the
 * inputs the filled form stands for (form values → JSON, with one message per bad field naming it).
 * The server checks the inputs against the schema again; this only catches what a form can see, so that
 * a mistyped number is pointed at before anything is sent. What a form cannot represent (a `$ref`, a
 * `oneOf`, an array of objects…) is a JSON text box for that field.
 */

type Schema = Record<string, unknown>;

interface FieldBase {
  /** Unique in the form and safe in an HTML id: the path's parts, escaped, joined with dots. */
  key: string;
  /** Where the value goes in the inputs, property by property. */
  path: string[];
  /** `inputs.a.b`: how messages name the field (the server names it the same way). */
  name: string;
  label: string;
  required: boolean;
  description?: string;
}

export type ScalarKind = 'string' | 'number' | 'integer';

export interface Bounds {
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
}

export type Field =
  | (FieldBase & { kind: ScalarKind; bounds: Bounds; default?: string; multiline?: boolean })
  | (FieldBase & { kind: 'boolean'; default?: boolean })
  | (FieldBase & { kind: 'enum'; options: unknown[]; default?: number })
  | (FieldBase & {
      kind: 'array';
      /** Items typed in one per line. */
      items: ScalarKind;
      bounds: Bounds;
      minItems?: number;
      maxItems?: number;
      default?: string;
    })
  | (FieldBase & { kind: 'choices'; options: unknown[]; minItems?: number; maxItems?: number; default?: number[] })
  | (FieldBase & { kind: 'object'; fields: Field[] })
  | (FieldBase & { kind: 'json'; why: string; default?: string });

/** What the whole form is: fields, or one JSON text box for all the inputs (no schema, or one a form cannot draw). */
export type FormShape = { kind: 'fields'; fields: Field[] } | { kind: 'json'; why: string };

/** A field's value as the form holds it: text, a checkbox, or the indices of ticked choices. */
export type FieldValue = string | boolean | number[];
export type FormValues = Record<string, FieldValue>;

export function describeSchema(schema: Schema | undefined): FormShape {
  if (!schema || Object.keys(schema).length === 0)
    return { kind: 'json', why: 'The workflow declares no input schema: write the inputs as JSON.' };
  const unsupported = unsupportedReason(schema);
  if (unsupported) return { kind: 'json', why: `The input schema ${unsupported}: write the inputs as JSON.` };
  const type = typeOf(schema);
  const properties = schema['properties'];
  if (type !== 'object' || !isObject(properties) || Object.keys(properties).length === 0)
    return { kind: 'json', why: 'The input schema names no properties: write the inputs as JSON.' };
  return { kind: 'fields', fields: describeProperties(schema, []) };
}

function describeProperties(schema: Schema, parent: string[]): Field[] {
  const properties = schema['properties'] as Schema;
  const required = new Set(Array.isArray(schema['required']) ? schema['required'] : []);
  return Object.entries(properties).map(([name, sub]) =>
    describeField(isObject(sub) ? sub : {}, [...parent, name], required.has(name)),
  );
}

function describeField(schema: Schema, path: string[], required: boolean): Field {
  const title = schema['title'];
  const description = schema['description'];
  const base: FieldBase = {
    key: path.map((p) => encodeURIComponent(p).replaceAll('.', '%2E')).join('.'),
    path,
    name: fieldName(path),
    label: typeof title === 'string' && title.trim() ? title : path.at(-1)!,
    required,
    ...(typeof description === 'string' && description.trim() && { description }),
  };
  const json = (why: string): Field => ({
    ...base,
    kind: 'json',
    why,
    ...('default' in schema && { default: JSON.stringify(schema['default'], null, 2) }),
  });
  const unsupported = unsupportedReason(schema);
  if (unsupported) return json(`a form cannot show a field that ${unsupported}`);

  const options = enumOf(schema);
  if (options) {
    const index = options.findIndex((o) => sameJson(o, schema['default']));
    return { ...base, kind: 'enum', options, ...(index >= 0 && { default: index }) };
  }
  const type = typeOf(schema);
  switch (type) {
    case 'string':
    case 'number':
    case 'integer': {
      const fallback = schema['default'];
      // A string that may run long (a document, a prompt) gets a text area; a short one, a line.
      const multiline = type === 'string' && (numberOr(schema['maxLength']) ?? 0) > 200;
      return {
        ...base,
        kind: type,
        bounds: boundsOf(schema),
        ...(multiline && { multiline }),
        ...((typeof fallback === 'string' || typeof fallback === 'number') && { default: String(fallback) }),
      };
    }
    case 'boolean': {
      const fallback = schema['default'];
      return { ...base, kind: 'boolean', ...(typeof fallback === 'boolean' && { default: fallback }) };
    }
    case 'array': {
      const items = isObject(schema['items']) ? schema['items'] : undefined;
      if (!items || unsupportedReason(items)) return json('a form cannot show a list of these items');
      const counts = {
        ...(numberOr(schema['minItems']) !== undefined && { minItems: numberOr(schema['minItems'])! }),
        ...(numberOr(schema['maxItems']) !== undefined && { maxItems: numberOr(schema['maxItems'])! }),
      };
      const fallback = Array.isArray(schema['default']) ? (schema['default'] as unknown[]) : undefined;
      const choices = enumOf(items);
      if (choices) {
        const ticked = fallback
          ?.map((value) => choices.findIndex((o) => sameJson(o, value)))
          .filter((index) => index >= 0);
        return { ...base, kind: 'choices', options: choices, ...counts, ...(ticked && { default: ticked }) };
      }
      const itemType = typeOf(items);
      if (itemType !== 'string' && itemType !== 'number' && itemType !== 'integer')
        return json('a form cannot show a list of these items');
      const lines = fallback?.every((v) => typeof v === 'string' || typeof v === 'number');
      return {
        ...base,
        kind: 'array',
        items: itemType,
        bounds: boundsOf(items),
        ...counts,
        ...(fallback && lines && { default: fallback.map(String).join('\n') }),
      };
    }
    case 'object': {
      const properties = schema['properties'];
      if (!isObject(properties) || Object.keys(properties).length === 0)
        return json('a form cannot show an object without named properties');
      return { ...base, kind: 'object', fields: describeProperties(schema, path) };
    }
    default:
      return json(type === undefined ? 'has no single type' : `is of type ${type}`);
  }
}

/** The values a fresh form starts with: each field's default, else empty. */
export function initialValues(shape: FormShape): FormValues {
  const values: FormValues = {};
  const visit = (fields: Field[]) => {
    for (const field of fields) {
      switch (field.kind) {
        case 'object':
          visit(field.fields);
          break;
        case 'boolean':
          // An optional boolean with no default starts unset: a select, '' for "not given".
          values[field.key] = field.required || field.default !== undefined ? (field.default ?? false) : '';
          break;
        case 'enum':
          values[field.key] = field.default === undefined ? '' : String(field.default);
          break;
        case 'choices':
          values[field.key] = field.default ?? [];
          break;
        default:
          values[field.key] = field.default ?? '';
      }
    }
  };
  if (shape.kind === 'fields') visit(shape.fields);
  return values;
}

/** Whether a boolean field is a checkbox (always sent) rather than a select that may say "not given". */
export function isCheckbox(field: Field & { kind: 'boolean' }): boolean {
  return field.required || field.default !== undefined;
}

export type Collected = { ok: true; inputs: Record<string, unknown> } | { ok: false; errors: Record<string, string> };

/**
 * The inputs the form stands for. An empty optional field is left out (the schema's default, if any, is
 * the server's to apply); an optional nested object none of whose fields is filled is left out too.
 * Errors are keyed by field key, each message starting with the field's name.
 */
export function collectInputs(shape: FormShape, values: FormValues, rootText?: string): Collected {
  const errors: Record<string, string> = {};
  if (shape.kind === 'json') {
    const text = (rootText ?? '').trim();
    if (!text) return { ok: true, inputs: {} };
    const parsed = parseJson(text);
    if (!parsed.ok) return { ok: false, errors: { '': `inputs: not JSON (${parsed.message})` } };
    if (!isObject(parsed.value)) return { ok: false, errors: { '': 'inputs: must be a JSON object, {…}' } };
    return { ok: true, inputs: parsed.value };
  }
  const inputs = collectObject(shape.fields, values, errors);
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, inputs };
}

function collectObject(fields: Field[], values: FormValues, errors: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    const property = field.path.at(-1)!;
    const fail = (message: string) => {
      errors[field.key] = `${field.name}: ${message}`;
    };
    if (field.kind === 'object') {
      const inner = collectObject(field.fields, values, errors);
      if (field.required || Object.keys(inner).length > 0) out[property] = inner;
      continue;
    }
    const raw = values[field.key];
    if (field.kind === 'boolean') {
      if (typeof raw === 'boolean') out[property] = raw;
      else if (raw === 'true' || raw === 'false') out[property] = raw === 'true';
      else if (field.required) fail('required; choose true or false');
      continue;
    }
    if (field.kind === 'choices') {
      const ticked = Array.isArray(raw) ? [...raw].sort((a, b) => a - b) : [];
      const chosen = ticked.map((i) => field.options[i]).filter((v) => v !== undefined);
      if (chosen.length === 0 && !field.required && field.minItems === undefined) continue;
      const count = countProblem(chosen.length, field.minItems, field.maxItems, 'choice');
      if (count) fail(count);
      else out[property] = chosen;
      continue;
    }
    const text = typeof raw === 'string' ? raw : '';
    if (field.kind === 'enum') {
      const option = text === '' ? undefined : field.options[Number(text)];
      if (option !== undefined) out[property] = option;
      else if (field.required) fail('required; choose one');
      continue;
    }
    // A string's spaces may matter; whether anything was typed is judged without them.
    if (text.trim() === '') {
      if (field.required) fail('required; fill it in');
      continue;
    }
    if (field.kind === 'json') {
      const parsed = parseJson(text);
      if (parsed.ok) out[property] = parsed.value;
      else fail(`not JSON (${parsed.message})`);
      continue;
    }
    if (field.kind === 'array') {
      const lines = text.split('\n').filter((line) => line.trim() !== '');
      const items: unknown[] = [];
      for (const [index, line] of lines.entries()) {
        const item = scalar(field.items, field.items === 'string' ? line : line.trim(), field.bounds);
        if (!item.ok) {
          fail(`item ${index + 1} (“${line.trim()}”) ${item.message}`);
          break;
        }
        items.push(item.value);
      }
      if (errors[field.key]) continue;
      const count = countProblem(items.length, field.minItems, field.maxItems, 'item');
      if (count) fail(count);
      else out[property] = items;
      continue;
    }
    const value = scalar(field.kind, field.kind === 'string' ? text : text.trim(), field.bounds);
    if (value.ok) out[property] = value.value;
    else fail(value.message);
  }
  return out;
}

function scalar(
  kind: ScalarKind,
  text: string,
  bounds: Bounds,
): { ok: true; value: string | number } | { ok: false; message: string } {
  if (kind === 'string') {
    const length = [...text].length;
    if (bounds.minLength !== undefined && length < bounds.minLength)
      return { ok: false, message: `must be at least ${bounds.minLength} characters long` };
    if (bounds.maxLength !== undefined && length > bounds.maxLength)
      return { ok: false, message: `must be at most ${bounds.maxLength} characters long` };
    return { ok: true, value: text };
  }
  // Number('') is 0 and Number('0x10') is 16: only plain decimal notation is a number here.
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text))
    return { ok: false, message: kind === 'integer' ? 'must be a whole number' : 'must be a number' };
  const value = Number(text);
  if (!Number.isFinite(value)) return { ok: false, message: 'must be a finite number' };
  if (kind === 'integer' && !Number.isInteger(value)) return { ok: false, message: 'must be a whole number' };
  if (bounds.minimum !== undefined && value < bounds.minimum)
    return { ok: false, message: `must be at least ${bounds.minimum}` };
  if (bounds.maximum !== undefined && value > bounds.maximum)
    return { ok: false, message: `must be at most ${bounds.maximum}` };
  if (bounds.exclusiveMinimum !== undefined && value <= bounds.exclusiveMinimum)
    return { ok: false, message: `must be more than ${bounds.exclusiveMinimum}` };
  if (bounds.exclusiveMaximum !== undefined && value >= bounds.exclusiveMaximum)
    return { ok: false, message: `must be less than ${bounds.exclusiveMaximum}` };
  return { ok: true, value };
}

function countProblem(count: number, min: number | undefined, max: number | undefined, noun: string) {
  if (min !== undefined && count < min) return `needs at least ${min} ${noun}${min === 1 ? '' : 's'}`;
  if (max !== undefined && count > max) return `takes at most ${max} ${noun}${max === 1 ? '' : 's'}`;
  return undefined;
}

/** `inputs.a.b`, `inputs["odd key"]`: the notation the server's messages use. */
export function fieldName(path: readonly string[]): string {
  return path.reduce(
    (out, part) => (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(part) ? `${out}.${part}` : `${out}[${JSON.stringify(part)}]`),
    'inputs',
  );
}

/** The bounds a field's hint mentions, e.g. "1 to 10" or "at most 80 characters". */
export function describeBounds(field: Field): string | undefined {
  if (field.kind !== 'string' && field.kind !== 'number' && field.kind !== 'integer' && field.kind !== 'array')
    return undefined;
  const { minimum, maximum, exclusiveMinimum, exclusiveMaximum, minLength, maxLength } = field.bounds;
  const parts: string[] = [];
  if (minimum !== undefined && maximum !== undefined) parts.push(`${minimum} to ${maximum}`);
  else if (minimum !== undefined) parts.push(`at least ${minimum}`);
  else if (maximum !== undefined) parts.push(`at most ${maximum}`);
  if (exclusiveMinimum !== undefined) parts.push(`more than ${exclusiveMinimum}`);
  if (exclusiveMaximum !== undefined) parts.push(`less than ${exclusiveMaximum}`);
  if (minLength !== undefined && maxLength !== undefined) parts.push(`${minLength}–${maxLength} characters`);
  else if (minLength !== undefined) parts.push(`at least ${minLength} characters`);
  else if (maxLength !== undefined) parts.push(`at most ${maxLength} characters`);
  if (field.kind === 'array') parts.unshift(`one ${field.items} per line`);
  return parts.length > 0 ? parts.join(', ') : undefined;
}

/** Keywords whose meaning a form of plain fields cannot show. */
function unsupportedReason(schema: Schema): string | undefined {
  for (const keyword of ['$ref', 'oneOf', 'anyOf', 'allOf', 'not', 'if', '$dynamicRef'])
    if (keyword in schema) return `uses ${keyword}`;
  return undefined;
}

/** The one type a schema names: `["string", "null"]` is a string (a form never sends null). */
function typeOf(schema: Schema): string | undefined {
  const type = schema['type'];
  if (typeof type === 'string') return type;
  if (Array.isArray(type)) {
    const named = type.filter((t): t is string => typeof t === 'string' && t !== 'null');
    return named.length === 1 ? named[0] : undefined;
  }
  if (isObject(schema['properties'])) return 'object';
  return undefined;
}

function enumOf(schema: Schema): unknown[] | undefined {
  if (Array.isArray(schema['enum']) && schema['enum'].length > 0) return schema['enum'] as unknown[];
  if ('const' in schema) return [schema['const']];
  return undefined;
}

function boundsOf(schema: Schema): Bounds {
  const bounds: Bounds = {};
  for (const key of ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength'] as const) {
    const value = numberOr(schema[key]);
    if (value !== undefined) bounds[key] = value;
  }
  return bounds;
}

function numberOr(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sameJson(a: unknown, b: unknown): boolean {
  return b !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}

/** How an option of a select shows a JSON value: strings as they are, anything else as JSON. */
export function optionLabel(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
