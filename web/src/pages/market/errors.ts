import { VerityApiError } from 'verity/sdk';

/**
 * The server's own words for a refusal (402 short of funds, 403 may not rate, 409 paused…), with its code,
 * so the person sees why rather than a status number. A 401 is not shown: it means signing in again.
 */
export function refusal(error: unknown): { message: string; unauthorized: boolean } {
  if (error instanceof VerityApiError) {
    if (error.status === 401) return { message: 'The API key was refused (401).', unauthorized: true };
    const code = error.serverCode ? ` (${error.serverCode})` : '';
    return { message: `${error.message}${code}`, unauthorized: false };
  }
  return { message: error instanceof Error ? error.message : String(error), unauthorized: false };
}
