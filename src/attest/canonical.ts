import canonicalizeImpl from 'canonicalize';

const canonicalize = canonicalizeImpl as unknown as (value: unknown) => string | undefined;

/**
 * RFC 8785 (JCS) canonical JSON. Everything Verity digests or signs goes through here, so two parties that
 * hold the same value always compute the same bytes. Values JSON cannot represent (undefined at the top,
 * NaN, Infinity) are refused rather than silently dropped.
 */
export function canonicalJson(value: unknown): string {
  assertCanonicalizable(value, '$');
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('canonicalJson: value has no JSON representation');
  return text;
}

function assertCanonicalizable(value: unknown, path: string): void {
  if (value === null) return;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value))
        throw new TypeError(`canonicalJson: ${path} is ${value}, which JSON cannot represent`);
      return;
    case 'object':
      if (Array.isArray(value)) {
        value.forEach((item, i) => assertCanonicalizable(item, `${path}[${i}]`));
        return;
      }
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return;
      for (const [key, item] of Object.entries(value)) {
        if (item !== undefined) assertCanonicalizable(item, `${path}.${key}`);
      }
      return;
    default:
      throw new TypeError(`canonicalJson: ${path} is a ${typeof value}, which JSON cannot represent`);
  }
}
