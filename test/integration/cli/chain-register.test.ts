import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { keyIdOf } from '../../../src/attest/keys.js';
import { verifyAddressBinding } from '../../../src/chain/address-binding-statement.js';
import type { DeploymentRecord } from '../../../src/chain/deployment-record.js';
import { runCli } from '../../support/cli.js';
import { recordDeployment } from '../../support/chain-deployment.js';
import { startTestServer } from '../../support/server.js';
import type { TestServer } from '../../support/server.js';

/** `verity chain register-address`, the built CLI against a real server. */
describe('verity chain register-address', () => {
  let server: TestServer;
  let alice: string;
  let deployment: DeploymentRecord;
  let dir: string;
  const chainId = 31337;

  beforeAll(async () => {
    server = await startTestServer('sqlite', 'chain-register', { node: { workers: 0 } });
    alice = await server.key('alice', 'client');
    deployment = recordDeployment(server.test.backend.dataDir, chainId);
    dir = mkdtempSync(join(tmpdir(), 'verity-register-'));
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const keyFile = (name: string, mode = 0o600) => {
    const key = generatePrivateKey();
    const file = join(dir, name);
    writeFileSync(file, `${key}\n`, { mode });
    return { file, key, address: privateKeyToAccount(key).address };
  };
  const register = (args: string[], apiKey = alice) =>
    runCli(['chain', 'register-address', '--server', server.url, ...args], { VERITY_API_KEY: apiKey });

  it("binds the key's address to the caller's account, prints address, principal and log index, never the key", async () => {
    const { file, key, address } = keyFile('alice.key');
    const result = await register(['--chain-id', String(chainId), '--key-file', file]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(address);
    expect(result.stdout).toMatch(/principal\s+alice/);
    const bound = await server.test.node.store.read.chainAddressOf(chainId, 'alice');
    expect(bound?.address).toBe(address);
    expect(result.stdout).toMatch(new RegExp(`log index\\s+${bound!.logIndex}`));
    expect(result.stdout + result.stderr).not.toContain(key.slice(2));

    // --json: the statement verifies against the coordinator key. Again: the same binding, nothing new logged.
    const again = await register(['--chain-id', String(chainId), '--key-file', file, '--json']);
    expect(again.code, again.stderr).toBe(0);
    const binding = JSON.parse(again.stdout) as { statement: unknown; log_index: number };
    expect(binding.log_index).toBe(bound!.logIndex);
    const signer = server.test.node.coordinatorSigner;
    const verified = await verifyAddressBinding(
      binding.statement,
      new Map([[keyIdOf(signer.publicKey), signer.publicKey]]),
      {
        principal: 'alice',
        chainId,
        settlement: deployment.settlement,
        address,
      },
    );
    expect(verified.checks.filter((c) => !c.ok)).toEqual([]);
  });

  it('lets an admin bind sys:platform, and refuses an unknown chain and a key file others can read', async () => {
    const platform = keyFile('platform.key');
    const fee = await register(
      ['--chain-id', String(chainId), '--key-file', platform.file, '--principal', 'sys:platform'],
      server.adminKey,
    );
    expect(fee.code, fee.stderr).toBe(0);
    expect(fee.stdout).toMatch(/principal\s+sys:platform/);

    const { file } = keyFile('other.key');
    const unknown = await register(['--chain-id', '999', '--key-file', file]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('chain 999');
    const open = keyFile('open.key', 0o644);
    const insecure = await register(['--chain-id', String(chainId), '--key-file', open.file]);
    expect(insecure.code).not.toBe(0);
    expect(insecure.stderr + insecure.stdout).not.toContain(open.key.slice(2));
    const stranger = await register(['--chain-id', String(chainId), '--key-file', file, '--principal', 'bob']);
    expect(stranger.code).not.toBe(0);
    expect(await server.test.node.store.read.chainAddressOf(chainId, 'bob')).toBeUndefined();
  });
});
