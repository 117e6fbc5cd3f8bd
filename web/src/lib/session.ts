/**
 * The API key lives in this tab's session storage: it goes when the tab closes, is never written to a
 * URL, a cookie or local storage, and is sent only as a Bearer header by the SDK.
 */
/** The server this page came from: the dashboard only ever talks to its own origin (CSP connect-src 'self'). */
export const SERVER = location.origin;

const KEY = 'verity.apiKey';
const ROLE = 'verity.role';

export type Role = 'admin' | 'publisher' | 'client' | 'worker';

export interface Session {
  apiKey: string;
  role: Role;
  principal: string;
}

export function loadSession(): Session | undefined {
  const apiKey = sessionStorage.getItem(KEY);
  const raw = sessionStorage.getItem(ROLE);
  if (!apiKey || !raw) return undefined;
  try {
    const parsed = JSON.parse(raw) as { role: Role; principal: string };
    return { apiKey, role: parsed.role, principal: parsed.principal };
  } catch {
    return undefined;
  }
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(KEY, session.apiKey);
  sessionStorage.setItem(ROLE, JSON.stringify({ role: session.role, principal: session.principal }));
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(ROLE);
}
