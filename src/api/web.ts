import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * Where `npm run build` puts the dashboard: dist/web, next to dist/api/ where this file is compiled to.
 * Run from the sources (tsx), this is src/web, which does not exist: the server then says how to build it.
 */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../web/', import.meta.url));

/**
 * The dashboard's Content-Security-Policy. The page holds an API key in session storage, so nothing but
 * this origin's own files may run or load in it: no inline script or style, no other origin.
 * - img-src data: and blob:: React Flow's controls are inline SVG icons and a verified bundle is saved
 *   through a blob: URL; neither can carry script.
 * - worker-src blob:: some browsers start a module worker from a blob: URL when the script is bundled; the
 *   expression worker itself is a file of this origin.
 * - connect-src 'self': the API is this origin; the key is never sent anywhere else.
 * - frame-ancestors, base-uri and form-action 'none': no framing (clickjacking), no <base> rewriting the
 *   origin of relative URLs, no form posting the key elsewhere.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/** The server's own paths, which the dashboard never answers for, even when nothing else does. */
export const RESERVED_PATHS = ['/v1', '/docs', '/openapi.json', '/metrics', '/healthz', '/readyz'];

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

/** Only the flat names Vite writes (name-hash.ext): nothing that could climb out of the assets folder. */
const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', DASHBOARD_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cross-origin-opener-policy', 'same-origin')
    .header('cross-origin-resource-policy', 'same-origin');
}

function reserved(path: string): boolean {
  return RESERVED_PATHS.some((p) => path === p || path.startsWith(`${p}/`));
}

/**
 * The web dashboard at `/`: index.html for `/` and for every other path the API does not own (the page
 * routes itself), its hashed assets with a year's cache. Registered last and as a catch-all GET, so every
 * API route, /docs and /openapi.json keep answering as before; an unknown path under them is the API's 404.
 */
export function registerDashboard(app: FastifyInstance, root: string | false): void {
  const handler = async (request: { url: string }, reply: FastifyReply): Promise<FastifyReply> => {
    const path = request.url.split('?')[0] ?? '/';
    if (reserved(path) || root === false) {
      reply.callNotFound();
      return reply;
    }
    if (path.startsWith('/assets/')) {
      const name = path.slice('/assets/'.length);
      const file = join(root, 'assets', name);
      const info = ASSET_NAME.test(name) ? await stat(file).catch(() => undefined) : undefined;
      if (!info?.isFile())
        return secure(reply).code(404).type('text/plain; charset=utf-8').send('no such dashboard asset');
      return (
        secure(reply)
          .code(200)
          .type(TYPES[extname(name)] ?? 'application/octet-stream')
          .header('content-length', info.size)
          // The names carry a hash of the content: a new build has new names, so these never go stale.
          .header('cache-control', 'public, max-age=31536000, immutable')
          .send(createReadStream(file))
      );
    }
    let index: string;
    try {
      index = await readFile(join(root, 'index.html'), 'utf8');
    } catch {
      return secure(reply)
        .code(200)
        .type('text/plain; charset=utf-8')
        .send(
          'The web dashboard is not built. Run `npm run build` (it builds web/ into dist/web), then restart `verity serve`.\nThe API is at /v1 and its documentation at /docs.\n',
        );
    }
    // Always revalidated, so a new build's asset names are picked up at once.
    return secure(reply).code(200).type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(index);
  };
  const options = { config: { roles: 'public' as const }, schema: { hide: true } };
  app.get('/', options, handler);
  app.get('/*', options, handler);
}
