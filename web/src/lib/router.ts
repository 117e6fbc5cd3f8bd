import { useEffect, useState } from 'react';

/**
 * A hash router: the server answers index.html for every page path, but hash routes keep the whole app
 * on one URL, so a reload never asks the server for a path it would have to guess about.
 */
export type Route =
  | { page: 'executions'; status?: string; workflow?: string }
  | { page: 'execution'; id: string }
  | { page: 'workflows' }
  | { page: 'workflow'; id: string; version?: number }
  | { page: 'check'; workflow?: string; version?: number }
  | { page: 'workers' }
  | { page: 'verify' }
  | { page: 'metrics' }
  | { page: 'market'; q?: string; tag?: string; sort?: string }
  | { page: 'listing'; id: string }
  | { page: 'account' }
  | { page: 'not-found'; path: string };

export function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#/, '').split('?');
  const params = new URLSearchParams(query);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0 || (parts[0] === 'executions' && parts.length === 1)) {
    const status = params.get('status');
    const workflow = params.get('workflow');
    return { page: 'executions', ...(status && { status }), ...(workflow && { workflow }) };
  }
  if (parts[0] === 'executions' && parts.length === 2) return { page: 'execution', id: parts[1]! };
  if (parts[0] === 'workflows' && parts.length === 1) return { page: 'workflows' };
  if (parts[0] === 'workflows' && parts.length === 2) return { page: 'workflow', id: parts[1]! };
  if (parts[0] === 'workflows' && parts.length === 4 && parts[2] === 'versions' && /^[1-9]\d*$/.test(parts[3]!))
    return { page: 'workflow', id: parts[1]!, version: Number(parts[3]) };
  if (parts[0] === 'check' && parts.length === 1) {
    const workflow = params.get('workflow');
    const version = params.get('version');
    return {
      page: 'check',
      ...(workflow && { workflow }),
      ...(workflow && version && /^[1-9]\d*$/.test(version) && { version: Number(version) }),
    };
  }
  if (parts[0] === 'verify' && parts.length === 1) return { page: 'verify' };
  if (parts[0] === 'workers' && parts.length === 1) return { page: 'workers' };
  if (parts[0] === 'metrics' && parts.length === 1) return { page: 'metrics' };
  if (parts[0] === 'market' && parts.length === 1) {
    const [q, tag, sort] = (['q', 'tag', 'sort'] as const).map((name) => params.get(name) ?? '');
    return { page: 'market', ...(q && { q }), ...(tag && { tag }), ...(sort && { sort }) };
  }
  if (parts[0] === 'market' && parts.length === 2) return { page: 'listing', id: parts[1]! };
  if (parts[0] === 'account' && parts.length === 1) return { page: 'account' };
  return { page: 'not-found', path };
}

export function href(route: Route): string {
  switch (route.page) {
    case 'executions': {
      const params = new URLSearchParams();
      if (route.status) params.set('status', route.status);
      if (route.workflow) params.set('workflow', route.workflow);
      return `#/executions${params.size > 0 ? `?${params.toString()}` : ''}`;
    }
    case 'execution':
      return `#/executions/${encodeURIComponent(route.id)}`;
    case 'workflows':
      return '#/workflows';
    case 'workflow':
      return `#/workflows/${encodeURIComponent(route.id)}${route.version === undefined ? '' : `/versions/${route.version}`}`;
    case 'check': {
      const params = new URLSearchParams();
      if (route.workflow) params.set('workflow', route.workflow);
      if (route.workflow && route.version !== undefined) params.set('version', String(route.version));
      return `#/check${params.size > 0 ? `?${params.toString()}` : ''}`;
    }
    case 'verify':
      return '#/verify';
    case 'workers':
      return '#/workers';
    case 'metrics':
      return '#/metrics';
    case 'market': {
      const params = new URLSearchParams();
      if (route.q) params.set('q', route.q);
      if (route.tag) params.set('tag', route.tag);
      if (route.sort) params.set('sort', route.sort);
      return `#/market${params.size > 0 ? `?${params.toString()}` : ''}`;
    }
    case 'listing':
      return `#/market/${encodeURIComponent(route.id)}`;
    case 'account':
      return '#/account';
    case 'not-found':
      return `#/${route.path}`;
  }
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}
