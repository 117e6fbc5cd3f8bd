import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeys } from '../../../src/auth/api-keys.js';
import { startTestNode } from '../../support/node.js';
import type { TestNode } from '../../support/node.js';

/**
 * A server reads each API key from the store at most every cacheMs. What that may and may not change: a
 * revoke through the same server takes effect at once; one made elsewhere (another replica, the CLI on the
 * data directory) within cacheMs, never later; a wrong secret is refused even while the key is cached.
 */
describe('API key lookups are cached for a bounded time', () => {
  let test: TestNode;
  let clock = 1_000_000;
  beforeAll(async () => {
    test = await startTestNode('sqlite', 'key-cache', { workers: 0 });
  });
  afterAll(() => test?.close());

  const server = () => new ApiKeys(test.node.store, { cacheMs: 2_000, now: () => clock });

  it('takes a revoke made through the same object at once', async () => {
    const keys = server();
    const { token, record } = await keys.create('alice', 'client');
    expect((await keys.authenticate(token))?.id).toBe(record.id);
    await keys.revoke(record.id);
    expect(await keys.authenticate(token)).toBeUndefined();
  });

  it('takes a revoke made elsewhere within cacheMs, not later', async () => {
    const replica = server();
    const elsewhere = new ApiKeys(test.node.store, { cacheMs: 0 });
    const { token, record } = await elsewhere.create('bob', 'client');
    expect((await replica.authenticate(token))?.id).toBe(record.id);
    await elsewhere.revoke(record.id);
    clock += 1_999;
    expect((await replica.authenticate(token))?.id).toBe(record.id);
    clock += 1;
    expect(await replica.authenticate(token)).toBeUndefined();
  });

  it('refuses a wrong secret for a key it has cached', async () => {
    const keys = server();
    const { token } = await keys.create('carol', 'client');
    expect(await keys.authenticate(token)).toBeDefined();
    expect(await keys.authenticate(`${token.slice(0, -4)}AAAA`)).toBeUndefined();
    expect(await keys.authenticate(token)).toBeDefined();
  });
});
