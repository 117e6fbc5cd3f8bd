import { Suspense, lazy, useCallback, useMemo, useState } from 'react';
import type { ReactNode } from 'react';
import { VerityClient } from 'verity/sdk';
import { App } from './lib/app-context';
import type { AppContext } from './lib/app-context';
import { href, useRoute } from './lib/router';
import { SERVER, clearSession, loadSession } from './lib/session';
import type { Session } from './lib/session';
import { SignIn } from './pages/SignIn';
import { Executions } from './pages/Executions';

/**
 * Pages past the first are loaded when first opened: the graph library, the verifier, YAML and the charts
 * are most of the script, and signing in or reading the executions list needs none of them.
 */
const page = <K extends string, P extends object>(load: () => Promise<Record<K, (props: P) => ReactNode>>, name: K) =>
  lazy(async () => ({ default: (await load())[name] }));
const Execution = page(() => import('./pages/Execution'), 'Execution');
const Workflows = page(() => import('./pages/Workflows'), 'Workflows');
const Workflow = page(() => import('./pages/Workflow'), 'Workflow');
const CheckDefinition = page(() => import('./pages/CheckDefinition'), 'CheckDefinition');
const Verify = page(() => import('./pages/Verify'), 'Verify');
const Workers = page(() => import('./pages/Workers'), 'Workers');
const Metrics = page(() => import('./pages/Metrics'), 'Metrics');
const Market = page(() => import('./pages/market/Market'), 'Market');
const Listing = page(() => import('./pages/market/Listing'), 'Listing');
const Account = page(() => import('./pages/market/Account'), 'Account');

const loading = (
  <p className="state" role="status">
    Loading…
  </p>
);

export function Root() {
  const [session, setSession] = useState<Session | undefined>(loadSession);
  const [message, setMessage] = useState<string | undefined>();
  const route = useRoute();

  const signOut = useCallback((why?: string) => {
    clearSession();
    setSession(undefined);
    setMessage(why);
  }, []);

  const app = useMemo<AppContext | undefined>(
    () =>
      session && {
        session,
        client: new VerityClient({ server: SERVER, apiKey: session.apiKey }),
        signOut,
      },
    [session, signOut],
  );

  // Verifying a bundle needs no server and no key: that page is open without signing in.
  if (route.page === 'verify' && !app) {
    return (
      <Shell>
        <Suspense fallback={loading}>
          <Verify />
        </Suspense>
      </Shell>
    );
  }
  if (!app) {
    return (
      <Shell>
        <SignIn
          message={message}
          onSignedIn={(s) => {
            setMessage(undefined);
            setSession(s);
          }}
        />
      </Shell>
    );
  }
  return (
    <App.Provider value={app}>
      <Shell app={app} current={route.page}>
        <Suspense fallback={loading}>
          {route.page === 'executions' && <Executions status={route.status} workflow={route.workflow} />}
          {route.page === 'execution' && <Execution id={route.id} />}
          {route.page === 'workflows' && <Workflows />}
          {route.page === 'workflow' && <Workflow id={route.id} version={route.version} />}
          {route.page === 'check' && <CheckDefinition workflow={route.workflow} version={route.version} />}
          {route.page === 'verify' && <Verify />}
          {route.page === 'workers' && <Workers />}
          {route.page === 'metrics' && <Metrics />}
          {route.page === 'market' && <Market q={route.q} tag={route.tag} sort={route.sort} />}
          {route.page === 'listing' && <Listing id={route.id} />}
          {route.page === 'account' && <Account />}
          {route.page === 'not-found' && (
            <div className="state empty">
              <p>There is no page “{route.path}”.</p>
              <a href={href({ page: 'executions' })}>Go to the executions</a>
            </div>
          )}
        </Suspense>
      </Shell>
    </App.Provider>
  );
}

function Shell({ app, current, children }: { app?: AppContext; current?: string; children: ReactNode }) {
  const link = (
    page: 'executions' | 'workflows' | 'workers' | 'metrics' | 'verify' | 'market' | 'account',
    label: string,
  ) => (
    <a
      href={href({ page })}
      aria-current={
        current === page ||
        (page === 'executions' && current === 'execution') ||
        (page === 'workflows' && (current === 'workflow' || current === 'check')) ||
        (page === 'market' && current === 'listing')
          ? 'page'
          : undefined
      }
    >
      {label}
    </a>
  );
  return (
    <div className="shell">
      <header className="topbar">
        <a className="brand" href="#/">
          Verity
        </a>
        <nav aria-label="Main">
          {app && link('executions', 'Executions')}
          {app && link('workflows', 'Workflows')}
          {app && link('market', 'Marketplace')}
          {app && link('account', 'Account')}
          {/* GET /v1/workers is the admin's: other keys do not see the entry. */}
          {app?.session.role === 'admin' && link('workers', 'Workers')}
          {/* GET /v1/metrics/summary is the admin's too. */}
          {app?.session.role === 'admin' && link('metrics', 'Metrics')}
          {link('verify', 'Verify')}
        </nav>
        {app && (
          <div className="who">
            <span title="the key's principal and role">
              {app.session.principal} · <strong className="role">{app.session.role}</strong>
            </span>
            <button type="button" onClick={() => app.signOut()}>
              Sign out
            </button>
          </div>
        )}
      </header>
      <main>{children}</main>
    </div>
  );
}
