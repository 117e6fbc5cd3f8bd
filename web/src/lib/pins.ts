/**
 * Trust on first use for the coordinator's key: the first key the server presents (or one pasted) is
 * pinned in local storage, per server origin, and a different one later is shown as a loud warning
 * instead of being trusted quietly. A pin is public key material, not a secret.
 */
const PIN = 'verity.pinnedCoordinatorKey';

export function pinnedKey(): string | undefined {
  return localStorage.getItem(PIN) ?? undefined;
}

export function pinKey(pem: string): void {
  localStorage.setItem(PIN, pem.trim());
}

export function forgetPin(): void {
  localStorage.removeItem(PIN);
}

/** Compares PEM text ignoring line breaks and surrounding space. */
export function sameKey(a: string, b: string): boolean {
  const norm = (pem: string) => pem.replace(/\s+/g, '');
  return norm(a) === norm(b);
}
