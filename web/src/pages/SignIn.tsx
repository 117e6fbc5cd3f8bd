import { useState } from 'react';
import { VerityApiError, VerityClient } from 'verity/sdk';
import { SERVER } from '../lib/session';
import { discoverRole } from '../lib/role';
import { saveSession } from '../lib/session';
import type { Session } from '../lib/session';

export function SignIn({ message, onSignedIn }: { message: string | undefined; onSignedIn: (s: Session) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async () => {
    const apiKey = key.trim();
    if (!/^vrt_/.test(apiKey)) {
      setError('An API key starts with vrt_.');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const { role, principal } = await discoverRole(new VerityClient({ server: SERVER, apiKey }));
      const session = { apiKey, role, principal };
      saveSession(session);
      onSignedIn(session);
    } catch (e) {
      setError(
        e instanceof VerityApiError && e.status === 401
          ? 'The server does not know this key (or it was revoked).'
          : e instanceof VerityApiError && e.status === 403
            ? 'This key cannot use the dashboard (a worker key?): sign in with a client, publisher or admin key.'
            : e instanceof Error
              ? e.message
              : String(e),
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="signin card">
      <h1>Sign in</h1>
      {message && (
        <p className="notice" role="alert">
          {message}
        </p>
      )}
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          type="password"
          autoComplete="off"
          spellCheck={false}
          placeholder="vrt_…"
          value={key}
          onChange={(e) => setKey(e.target.value)}
        />
        <p className="hint">
          Kept in this tab’s session storage only, and sent as a Bearer header to this server. Create one with{' '}
          <code>verity keys create</code>.
        </p>
        {error && (
          <p className="error-text" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </section>
  );
}
