import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VerityApiError } from '../../../src/sdk/client.js';
import type { ListingView } from '../../../src/sdk/client.js';
import { call, errorCode } from '../../support/api-http.js';
import type { RawResponse } from '../../support/api-http.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { echo } from '../../support/node.js';
import { startTestServer } from '../../support/server.js';
import type { TestServer } from '../../support/server.js';

const flow = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  name: id,
  version: 1,
  steps: [echo('a', { input_mappings: { text: 'inputs.text' } })],
  max_cost_budget: 1_000_000,
  ...extra,
});

const TEXT_INPUTS = { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] };

const perExecution = (extra: Record<string, unknown> = {}) => ({
  workflow_id: 'mkt-echo',
  title: 'Echo agent',
  description: 'Says back what it is told',
  tags: ['Text', 'echo', 'TEXT'],
  execution_price: 2_000,
  pricing: { model: 'per_execution' },
  ...extra,
});

interface Problem {
  field: string;
  message: string;
}

const issuesOf = (response: RawResponse): Problem[] =>
  (response.json as { error: { details?: { issues?: Problem[] } } }).error.details?.issues ?? [];

/** The listing routes over real HTTP: who sees what, who changes what, and what is refused, changing nothing. */
for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`the marketplace listings API (${kind})`, () => {
    let server: TestServer;
    let pub: string;
    let pub2: string;
    let alice: string;
    let bob: string;
    let worker: string;

    beforeAll(async () => {
      server = await startTestServer(kind, 'market-api', { node: { workers: 0 } });
      pub = await server.key('pub', 'publisher');
      pub2 = await server.key('pub2', 'publisher');
      alice = await server.key('alice', 'client');
      bob = await server.key('bob', 'client');
      worker = await server.key('wrk', 'worker');
      const publish = async (key: string, body: unknown) =>
        expect((await call(server.url, 'POST', '/v1/workflows', { key, json: body })).status).toBe(201);
      await publish(pub, flow('mkt-echo', { inputs: TEXT_INPUTS }));
      await publish(pub, flow('mkt-echo', { description: 'v2' }));
      await publish(pub, flow('mkt-unbounded', { max_cost_budget: 0 }));
      await publish(pub, flow('mkt-full', { verification_level: 'full' }));
      await publish(pub2, flow('mkt-other'));
    });
    afterAll(() => server?.close());

    const as = (key: string, method: string, path: string, json?: unknown) =>
      call(server.url, method, path, { key, ...(json !== undefined && { json }) });
    const create = async (key: string, body: unknown): Promise<ListingView> => {
      const response = await as(key, 'POST', '/v1/market/listings', body);
      expect(response.status, response.text).toBe(201);
      return response.json as ListingView;
    };
    /** Everything an admin sees of every listing: what a refused request must leave as it was. */
    const everything = async () =>
      (await as(server.adminKey, 'GET', '/v1/market/listings?limit=100&sort=newest')).json as { listings: unknown[] };

    it('publishes a listing: 201 with every field, the derived ones at zero, tags lowercase and once', async () => {
      const listing = await create(pub, perExecution({ workflow_version: 1 }));
      expect(listing).toMatchObject({
        owner: 'pub',
        workflow_id: 'mkt-echo',
        workflow_version: 1,
        title: 'Echo agent',
        tags: ['text', 'echo'],
        execution_price: 2_000,
        subscription_price: 0,
        pricing: {
          model: 'per_execution',
          markup_bps: 0,
          max_price: null,
          included_executions: 0,
          over_quota: 'charge',
        },
        verification_level: 'basic',
        is_public: true,
        authorized_users: [],
        show_definition: false,
        status: 'active',
        rating: null,
        rating_count: 0,
        total_executions: 0,
        success_rate: null,
        median_duration_ms: null,
      });
      expect(listing.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(listing.workflow_digest).toMatch(/^[0-9a-f]{64}$/);
      expect(new Date(listing.created_at).toISOString()).toBe(listing.created_at);

      // A buyer sees it without its definition (not shown) nor its authorized users; the owner sees both.
      const seen = await as(alice, 'GET', `/v1/market/listings/${listing.id}`);
      expect(seen.status).toBe(200);
      const view = seen.json as ListingView;
      expect(view.definition).toBeUndefined();
      expect(view.authorized_users).toBeUndefined();
      // What to send is public even when how it is done is not: the inputs' schema, to fill a run form.
      expect(view.inputs_schema).toEqual(TEXT_INPUTS);
      expect(
        ((await as(pub, 'GET', `/v1/market/listings/${listing.id}`)).json as ListingView).definition,
      ).toMatchObject({
        id: 'mkt-echo',
      });
      // Its stats are derived from settled runs and ratings by others than the owner.
      await server.test.node.store.transaction(async (tx) => {
        const run = { listingId: listing.id, publisher: 'pub', terms: {}, includedRun: 0, hold: 2_000, createdAt: 1 };
        await tx.insertMarketRun({ ...run, executionId: 'm1', buyer: 'alice', outcome: 'completed', durationMs: 40 });
        await tx.insertMarketRun({ ...run, executionId: 'm2', buyer: 'bob', outcome: 'failed', durationMs: 10 });
        await tx.insertMarketRun({ ...run, executionId: 'm3', buyer: 'pub', outcome: 'completed', durationMs: 1 });
        await tx.putMarketRating({ listingId: listing.id, buyer: 'alice', executionId: 'm1', stars: 4, createdAt: 1 });
        await tx.putMarketRating({ listingId: listing.id, buyer: 'pub', executionId: 'm3', stars: 5, createdAt: 1 });
      });
      expect((await as(bob, 'GET', `/v1/market/listings/${listing.id}`)).json).toMatchObject({
        rating: 4,
        rating_count: 1,
        total_executions: 1,
        success_rate: 0.5,
        median_duration_ms: 40,
      });
    });

    it('a private listing exists only for its owner, admins and authorized users: 404 for anyone else, as if missing', async () => {
      const listing = await create(
        pub,
        perExecution({ title: 'Private echo', is_public: false, authorized_users: ['alice'], show_definition: true }),
      );
      const path = `/v1/market/listings/${listing.id}`;
      for (const key of [alice, pub, server.adminKey]) expect((await as(key, 'GET', path)).status).toBe(200);
      // The authorized buyer sees the definition, since the listing shows it.
      expect(((await as(alice, 'GET', path)).json as ListingView).definition).toMatchObject({ id: 'mkt-echo' });

      const hidden = await as(bob, 'GET', path);
      const missing = await as(bob, 'GET', '/v1/market/listings/00000000-0000-7000-8000-000000000000');
      expect(hidden.status).toBe(404);
      expect(errorCode(hidden)).toBe('not_found');
      expect(hidden.text.replaceAll(listing.id, 'ID')).toBe(
        missing.text.replaceAll('00000000-0000-7000-8000-000000000000', 'ID'),
      );
      const titles = async (key: string) =>
        (
          (await as(key, 'GET', '/v1/market/listings?q=private&limit=100')).json as { listings: ListingView[] }
        ).listings.map((l) => l.id);
      expect(await titles(alice)).toEqual([listing.id]);
      expect(await titles(bob)).toEqual([]);
      expect(await titles(pub2)).toEqual([]);

      // Changes: another publisher, even one that could see it, gets the same 404; a client key's role is refused.
      const before = await as(server.adminKey, 'GET', path);
      for (const [method, suffix, body] of [
        ['PATCH', '', { title: 'mine now' }],
        ['POST', '/pause', {}],
        ['POST', '/retire', {}],
      ] as const) {
        const refused = await as(pub2, method, `${path}${suffix}`, body);
        expect(refused.status, `${method} ${suffix}`).toBe(404);
        expect(refused.text.replaceAll(listing.id, 'ID')).toBe(
          missing.text.replaceAll('00000000-0000-7000-8000-000000000000', 'ID'),
        );
        expect((await as(alice, method, `${path}${suffix}`, body)).status).toBe(403);
      }
      expect((await as(server.adminKey, 'GET', path)).json).toEqual(before.json);
      const publicOne = await create(pub, perExecution({ title: 'Public to change' }));
      expect((await as(pub2, 'PATCH', `/v1/market/listings/${publicOne.id}`, { title: 'x' })).status).toBe(404);
      expect((await as(pub2, 'GET', `/v1/market/listings/${publicOne.id}`)).json).toMatchObject({
        title: 'Public to change',
      });
      // An admin may change another's listing.
      const changed = await as(server.adminKey, 'PATCH', path, { authorized_users: ['alice', 'bob'] });
      expect(changed.status).toBe(200);
      expect((await as(bob, 'GET', path)).status).toBe(200);
    });

    it('worker keys have no access to any market route', async () => {
      const listing = await create(pub, perExecution());
      for (const [method, path, body] of [
        ['GET', '/v1/market/listings', undefined],
        ['GET', `/v1/market/listings/${listing.id}`, undefined],
        ['POST', '/v1/market/listings', perExecution()],
        ['PATCH', `/v1/market/listings/${listing.id}`, { title: 'w' }],
        ['POST', `/v1/market/listings/${listing.id}/pause`, {}],
        ['POST', `/v1/market/listings/${listing.id}/resume`, {}],
        ['POST', `/v1/market/listings/${listing.id}/retire`, {}],
      ] as const) {
        const response = await as(worker, method, path, body);
        expect(response.status, `${method} ${path}`).toBe(403);
        expect(errorCode(response)).toBe('forbidden');
      }
      expect((await as(alice, 'POST', '/v1/market/listings', perExecution())).status).toBe(403);
    });

    it('refuses bad listings with a 400 naming the field, and changes nothing', async () => {
      const existing = await create(pub, perExecution({ title: 'Untouched' }));
      const before = await everything();
      const cases: [unknown, string, RegExp?][] = [
        [perExecution({ title: '' }), 'body.title'],
        [perExecution({ title: 'x'.repeat(201) }), 'body.title'],
        [perExecution({ description: 'x'.repeat(10_001) }), 'body.description'],
        [perExecution({ tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }), 'body.tags'],
        [perExecution({ tags: ['x'.repeat(41)] }), 'body.tags.0'],
        [perExecution({ tags: ['   '] }), 'body.tags[0]'],
        [perExecution({ execution_price: -1 }), 'body.execution_price'],
        [perExecution({ execution_price: 1.5 }), 'body.execution_price'],
        [perExecution({ authorized_users: ['sys:platform'] }), 'body.authorized_users[0]', /reserved/],
        [perExecution({ pricing: { model: 'per_usage', markup_bps: 1000 } }), 'body.pricing.max_price'],
        [
          perExecution({ pricing: { model: 'per_usage', markup_bps: 526, max_price: 10_000 } }),
          'body.pricing.markup_bps',
          /at least 527/,
        ],
        [
          perExecution({ workflow_id: 'mkt-unbounded', execution_price: 0 }),
          'body.workflow_version',
          /max_cost_budget 0/,
        ],
        [
          perExecution({ workflow_id: 'mkt-unbounded', pricing: { model: 'subscription', included_executions: 5 } }),
          'body.workflow_version',
          /max_cost_budget/,
        ],
        [perExecution({ workflow_id: 'mkt-full', verification_level: 'basic' }), 'body.verification_level'],
        [perExecution({ rating: 5 }), 'body'],
        [{ ...perExecution(), pricing: { model: 'per_execution', surprise: 1 } }, 'body.pricing'],
      ];
      for (const [body, field, message] of cases) {
        const response = await as(pub, 'POST', '/v1/market/listings', body);
        expect(response.status, `${field}: ${response.text}`).toBe(400);
        expect(errorCode(response)).toBe('validation');
        expect(
          issuesOf(response).map((i) => i.field),
          response.text,
        ).toContain(field);
        if (message) expect(response.text).toMatch(message);
      }
      const path = `/v1/market/listings/${existing.id}`;
      const patches: [unknown, string][] = [
        [{ rating: 5 }, 'body.rating'],
        [{ total_executions: 9 }, 'body.total_executions'],
        [{ rating_count: 1 }, 'body.rating_count'],
        [{ status: 'active' }, 'body.status'],
        [{ owner: 'pub2' }, 'body.owner'],
        [{ workflow_digest: 'sha256:x' }, 'body.workflow_digest'],
        [{ title: 'x'.repeat(201) }, 'body.title'],
        [{ pricing: { model: 'per_usage', markup_bps: 10 } }, 'body.pricing.max_price'],
        [{ pricing: { model: 'per_usage', markup_bps: 10, max_price: 100 } }, 'body.pricing.markup_bps'],
        [{ surprise: true }, 'body'],
      ];
      for (const [body, field] of patches) {
        const response = await as(pub, 'PATCH', path, body);
        expect(response.status, `${field}: ${response.text}`).toBe(400);
        expect(
          issuesOf(response).map((i) => i.field),
          response.text,
        ).toContain(field);
      }
      // Another's workflow, or one that does not exist: not found, as everywhere.
      for (const body of [perExecution({ workflow_id: 'mkt-other' }), perExecution({ workflow_id: 'nope' })]) {
        const response = await as(pub, 'POST', '/v1/market/listings', body);
        expect(response.status).toBe(404);
        expect(response.text).toContain('workflow_id');
      }
      expect((await as(pub, 'PATCH', path, { workflow_version: 9 })).status).toBe(404);
      expect(await everything()).toEqual(before);
    });

    it('the fee sets the least per_usage markup; a stricter level, new versions and new prices are accepted', async () => {
      const usage = await create(
        pub,
        perExecution({
          workflow_version: 1,
          pricing: { model: 'per_usage', markup_bps: 527, max_price: 50_000 },
          verification_level: 'full',
        }),
      );
      expect(usage).toMatchObject({ verification_level: 'full', pricing: { model: 'per_usage', max_price: 50_000 } });
      const path = `/v1/market/listings/${usage.id}`;
      const moved = await as(pub, 'PATCH', path, {
        workflow_version: 2,
        tags: ['New', 'new'],
        pricing: { model: 'per_execution', max_price: null },
        execution_price: 3_000,
      });
      expect(moved.status, moved.text).toBe(200);
      expect(moved.json).toMatchObject({
        workflow_version: 2,
        tags: ['new'],
        execution_price: 3_000,
        pricing: { model: 'per_execution', markup_bps: 527, max_price: null },
        verification_level: 'full',
      });
      expect((moved.json as ListingView).workflow_digest).not.toBe(usage.workflow_digest);
      // A free listing on a workflow with a finite budget is fine.
      expect(await create(pub, perExecution({ execution_price: 0, workflow_id: 'mkt-full' }))).toMatchObject({
        execution_price: 0,
        verification_level: 'full',
      });
    });

    it('pauses, resumes and retires; retired is final and leaves search', async () => {
      const listing = await create(pub, perExecution({ title: 'Lifecycle agent' }));
      const path = `/v1/market/listings/${listing.id}`;
      const found = async (key: string) =>
        ((await as(key, 'GET', '/v1/market/listings?q=lifecycle')).json as { listings: ListingView[] }).listings.map(
          (l) => l.status,
        );
      expect(((await as(pub, 'POST', `${path}/pause`, {})).json as ListingView).status).toBe('paused');
      // Again, and without a body at all: the same state, nothing changes.
      const again = await call(server.url, 'POST', `${path}/pause`, { key: pub });
      expect(again.status, again.text).toBe(200);
      expect((again.json as ListingView).status).toBe('paused');
      expect(await found(alice)).toEqual([]);
      expect(await found(pub)).toEqual(['paused']);
      expect(await found(server.adminKey)).toEqual(['paused']);
      expect(((await as(pub, 'POST', `${path}/resume`, {})).json as ListingView).status).toBe('active');
      expect(await found(alice)).toEqual(['active']);
      expect(((await as(pub, 'POST', `${path}/retire`, {})).json as ListingView).status).toBe('retired');
      expect((await as(pub, 'POST', `${path}/retire`, {})).status).toBe(200);
      for (const [method, suffix, body] of [
        ['POST', '/resume', {}],
        ['POST', '/pause', {}],
        ['PATCH', '', { title: 'back' }],
      ] as const) {
        const refused = await as(pub, method, `${path}${suffix}`, body);
        expect(refused.status).toBe(409);
        expect(errorCode(refused)).toBe('conflict');
      }
      expect(await found(pub)).toEqual([]);
      expect(((await as(alice, 'GET', path)).json as ListingView).status).toBe('retired');
    });

    it('pages a search by an opaque cursor of its sort; a foreign cursor is a 400 naming it', async () => {
      for (let i = 0; i < 5; i++) {
        await create(pub, perExecution({ title: `Paged ${i}`, tags: ['paged'], execution_price: 100 * (i % 2) + 1 }));
      }
      for (const sort of ['newest', 'price', 'rating', 'executions'] as const) {
        const ids: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await server
            .client(alice)
            .searchListings({ tag: 'PAGED', sort, limit: 2, ...(cursor && { cursor }) });
          ids.push(...page.listings.map((l) => l.id));
          cursor = page.next_cursor;
        } while (cursor !== undefined);
        expect(ids, sort).toHaveLength(5);
        expect(new Set(ids).size).toBe(5);
      }
      const first = await server.client(alice).searchListings({ tag: 'paged', sort: 'price', limit: 2 });
      const prices = first.listings.map((l) => l.execution_price);
      expect(prices).toEqual([1, 1]);
      for (const query of [`sort=newest&cursor=${first.next_cursor}`, 'cursor=bm9wZQ', 'limit=101', 'sort=best']) {
        const response = await as(alice, 'GET', `/v1/market/listings?${query}`);
        expect(response.status, query).toBe(400);
        expect(issuesOf(response).map((i) => i.field)[0]).toMatch(/^query\./);
      }
    });

    it('the SDK does it all, and turns a hidden listing into a 404 error', async () => {
      const client = server.client(pub);
      const listing = await client.createListing({
        workflow_id: 'mkt-echo',
        title: 'SDK agent',
        pricing: { model: 'subscription', included_executions: 3, over_quota: 'refuse' },
        subscription_price: 10_000,
        is_public: false,
      });
      expect(listing.pricing).toMatchObject({ model: 'subscription', included_executions: 3, over_quota: 'refuse' });
      expect((await client.getListing(listing.id)).title).toBe('SDK agent');
      expect((await client.updateListing(listing.id, { title: 'SDK agent 2' })).title).toBe('SDK agent 2');
      expect((await client.pauseListing(listing.id)).status).toBe('paused');
      expect((await client.resumeListing(listing.id)).status).toBe('active');
      expect((await client.searchListings({ q: 'sdk' })).listings.map((l) => l.id)).toEqual([listing.id]);
      const error = await server
        .client(bob)
        .getListing(listing.id)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(VerityApiError);
      expect((error as VerityApiError).status).toBe(404);
      expect((await client.retireListing(listing.id)).status).toBe('retired');
    });
  });
}
