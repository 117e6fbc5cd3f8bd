/**
 * How deeply a JSON value nests, measured without recursion, stopping as soon as it passes `max`: values
 * come from clients and workers, and everything after this check (canonical JSON, digests, the store's
 * serializer, JSONata) recurses, so one nested thousands deep would overflow the stack there.
 */
export function exceedsDepth(root: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[root, 0]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    // An object or array is one level; what it holds is one deeper.
    if (depth + 1 > max) return true;
    const children = Array.isArray(value) ? value : Object.values(value as Record<string, unknown>);
    for (const child of children) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return false;
}
