import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import type { Address } from 'viem';

/**
 * A real local Ethereum node for the JSON-RPC tests: anvil, from the npm package @foundry-rs/anvil (its binary
 * comes in a per-platform package). Not ganache: ganache 7.9 stops at Shanghai, and OpenZeppelin 5.7 cannot
 * even be compiled for Shanghai (its Bytes.sol uses MCOPY), while anvil runs the Prague build the contracts ship as.
 */
export interface LocalNode {
  url: string;
  /** Gives `address` `wei` of ether (anvil_setBalance), so that tests use keys of their own. */
  fund(address: Address, wei: bigint): Promise<void>;
  /** Moves the chain's clock `seconds` ahead and mines a block there (evm_increaseTime, evm_mine). */
  advanceTime(seconds: number): Promise<void>;
  stop(): Promise<void>;
}

/** A port the kernel just had free on 127.0.0.1 (released before the node binds it: a race, but a short one). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP port');
  return address.port;
}

function anvilBinary(): string {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch}`;
  return join(dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`)), 'bin', 'anvil');
}

async function rpc(url: string, method: string, params: unknown[]): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await response.json()) as { result?: unknown; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

/** Starts anvil on loopback with chain id 1337 and Prague, and resolves once it answers eth_chainId. */
export async function startAnvil(): Promise<LocalNode> {
  const port = await freePort();
  const args = ['--host', '127.0.0.1', '--port', String(port), '--chain-id', '1337', '--hardfork', 'prague'];
  // --accounts 0: no prefunded mnemonic accounts; the tests fund their own keys.
  const child: ChildProcess = spawn(anvilBinary(), [...args, '--accounts', '0', '--silent'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`anvil exited with ${child.exitCode}: ${stderr}`);
    try {
      await rpc(url, 'eth_chainId', []);
      break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`anvil did not answer on ${url} within 30 s: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    async fund(address, wei) {
      await rpc(url, 'anvil_setBalance', [address, `0x${wei.toString(16)}`]);
    },
    async advanceTime(seconds) {
      await rpc(url, 'evm_increaseTime', [seconds]);
      await rpc(url, 'evm_mine', []);
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
