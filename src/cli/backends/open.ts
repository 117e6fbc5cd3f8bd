import type { Command } from 'commander';
import type { VerityClient } from '../../sdk/client.js';
import type { Store } from '../../store/store.js';
import { Option } from 'commander';
import { openNode, withStoreOptions } from '../context.js';
import type { StoreFlags } from '../context.js';
import { CliError } from '../errors.js';
import type { CliBackend } from './backend.js';
import { LocalBackend } from './local.js';
import { RemoteBackend } from './remote.js';

export interface BackendFlags extends StoreFlags {
  server?: string;
  apiKey?: string;
}

/** The options of a command that works on the local store or, with --server, on a Verity server. */
export function withBackendOptions(command: Command): Command {
  return withStoreOptions(command)
    .addOption(
      new Option('--server <url>', 'work against this Verity server instead of the local store').env('VERITY_SERVER'),
    )
    .addOption(new Option('--api-key <key>', 'the API key for --server').env('VERITY_API_KEY'));
}

/** The server the flags name, or the local store with `workers` in-process job slots. */
export async function openBackend(flags: BackendFlags, workers: number): Promise<CliBackend> {
  if (flags.server) {
    const { server, apiKey } = serverOf(flags);
    return new RemoteBackend(server, apiKey);
  }
  return LocalBackend.open(flags, workers);
}

/** The server the flags name, as a base URL, and the API key for it; a usage error says which is missing or wrong. */
export function serverOf(flags: { server?: string | undefined; apiKey?: string | undefined }): {
  server: string;
  apiKey: string;
} {
  if (!flags.server) throw new CliError('usage', '--server (or VERITY_SERVER) must name the Verity server');
  let url: URL;
  try {
    url = new URL(flags.server);
  } catch {
    throw new CliError('usage', `--server must be a URL such as http://127.0.0.1:8080, not "${flags.server}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new CliError('usage', `--server must be an http:// or https:// URL, not "${flags.server}"`);
  if (!flags.apiKey)
    throw new CliError(
      'usage',
      'give an API key for the server: --api-key KEY or VERITY_API_KEY (an admin creates one with `verity keys create`)',
    );
  return { server: url.origin + url.pathname.replace(/\/+$/, ''), apiKey: flags.apiKey };
}

/**
 * Runs a command's server call with --server, else the same thing on the data directory's store (no worker
 * slots: these commands run no jobs). The node is stopped whatever the local call does.
 */
export async function onServerOrStore<T>(
  flags: BackendFlags,
  remote: (client: VerityClient) => Promise<T>,
  local: (store: Store) => Promise<T>,
): Promise<T> {
  if (flags.server) {
    const backend = await openBackend(flags, 0);
    return remote((backend as RemoteBackend).client);
  }
  const node = await openNode(flags, 0, console.error);
  try {
    return await local(node.store);
  } finally {
    await node.stop();
  }
}
