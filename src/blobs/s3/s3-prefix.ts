/** A bucket prefix as keys use it: `a/b` → `a/b/`; '' and '/' → '' (keys at the bucket's root). */
export function normalizePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+/, '').replace(/\/+$/, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}
