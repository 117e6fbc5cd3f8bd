/**
 * JSONata's results as plain JSON: it returns sequences (arrays with extra properties), `undefined` for
 * "no match", functions and lambdas (objects holding their circular environment), and non-finite numbers,
 * none of which may leak into digests, storage or a message between processes.
 */
export function toPlainJson(value: unknown): unknown {
  if (value === undefined) return undefined;
  if (typeof value === 'function') return undefined;
  if (isJsonataFunction(value)) return undefined;
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  if (Array.isArray(value)) return value.map((item) => toPlainJson(item) ?? null);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const plain = toPlainJson(item);
      if (plain !== undefined) out[key] = plain;
    }
    return out;
  }
  return value;
}

function isJsonataFunction(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  const v = value as { _jsonata_function?: unknown; _jsonata_lambda?: unknown };
  return v._jsonata_function === true || v._jsonata_lambda === true;
}
