import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VerityApiError } from '../../../src/sdk/client.js';
import { echo } from '../../support/node.js';
import { startTestServer } from '../../support/server.js';
import type { TestServer } from '../../support/server.js';

/** The SDK's listWorkflowVersions: every version, oldest first, with digests; another owner's is a 404. */
describe('listing the versions of a workflow through the SDK', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('sqlite', 'sdk-versions', { node: { workers: 0 } });
  });
  afterAll(() => server?.close());

  it('answers each version once, numbered by the server, and refuses another principal', async () => {
    const publisher = server.client(await server.key('acme', 'publisher'));
    const first = await publisher.publishWorkflow({ id: 'versioned', steps: [echo('a')] });
    const second = await publisher.publishWorkflow({ id: 'versioned', steps: [echo('a'), echo('b')] });
    const versions = await publisher.listWorkflowVersions('versioned');
    expect(versions.map((v) => [v.version, v.steps, v.digest])).toEqual([
      [1, 1, first.digest],
      [2, 2, second.digest],
    ]);
    expect(first.digest).not.toBe(second.digest);

    const other = server.client(await server.key('someone-else', 'publisher'));
    const refused = await other.listWorkflowVersions('versioned').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(VerityApiError);
    expect((refused as VerityApiError).status).toBe(404);
  });
});
