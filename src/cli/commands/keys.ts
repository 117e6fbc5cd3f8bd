import type { Command } from 'commander';
import { ApiKeys } from '../../auth/api-keys.js';
import { principalNameProblem } from '../../auth/principal.js';
import type { Role } from '../../store/records.js';
import { keyView } from '../../api/routes/admin.js';
import { ROLES } from '../../store/records.js';
import { onServerOrStore, openBackend, withBackendOptions } from '../backends/open.js';
import type { BackendFlags } from '../backends/open.js';
import { CliError } from '../errors.js';
import { colorize, table } from '../format.js';

/**
 * `verity keys`: the coordinator's public key, and API keys. API keys are managed against a server (with an
 * admin key) or directly on a data directory (whoever can read the store is its admin anyway).
 */
export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('the coordinator key that signs receipts, and API keys');

  withBackendOptions(
    keys.command('show').description("print the coordinator's public key (PEM) and its keyid: what verifiers trust"),
  ).action(async (flags: BackendFlags) => {
    const backend = await openBackend(flags, 0);
    await backend.session(async () => {
      const key = await backend.coordinatorKey();
      process.stdout.write(key.publicKeyPem);
      console.error(`keyid ${key.keyid}`);
    });
  });

  withBackendOptions(
    keys
      .command('create')
      .description('create an API key and print it alone on stdout (it is shown only this once)')
      .requiredOption('--role <role>', `what the key may do: ${ROLES.join(', ')}`)
      .requiredOption('--name <name>', 'who holds it: the principal its executions and workflows belong to'),
  ).action(async (flags: BackendFlags & { role: string; name: string }) => {
    if (!ROLES.includes(flags.role as Role))
      throw new CliError('usage', `--role must be one of ${ROLES.join(', ')}, not "${flags.role}"`);
    // ApiKeys (here or in the server) checks it again; checked first so that the message names the flag.
    const problem = principalNameProblem(flags.name);
    if (problem !== undefined) throw new CliError('usage', `--name: ${problem}`);
    const created = await onServerOrStore(
      flags,
      (client) => client.createKey(flags.name, flags.role as Role).then((k) => ({ token: k.token, id: k.id })),
      async (store) => {
        const { record, token } = await new ApiKeys(store).create(flags.name, flags.role as Role);
        return { token, id: record.id };
      },
    );
    process.stdout.write(`${created.token}\n`);
    console.error(`created ${flags.role} key ${created.id} for ${flags.name}`);
  });

  withBackendOptions(
    keys.command('list').description('list API keys (never their secrets)').option('--json', 'print a JSON array'),
  ).action(async (flags: BackendFlags & { json?: boolean }) => {
    const list = await onServerOrStore(
      flags,
      (client) => client.listKeys(),
      async (store) => (await new ApiKeys(store).list()).map(keyView),
    );
    if (flags.json) {
      process.stdout.write(JSON.stringify(list, null, 2) + '\n');
      return;
    }
    const c = colorize(process.stdout);
    console.log(
      table([
        ['ID', 'NAME', 'ROLE', 'CREATED', 'LAST USED', 'STATE'],
        ...list.map((k) => [
          k.id,
          k.principal,
          k.role,
          k.createdAt.slice(0, 19).replace('T', ' '),
          k.lastUsedAt?.slice(0, 19).replace('T', ' ') ?? '',
          k.revokedAt ? c.red('revoked') : c.green('active'),
        ]),
      ]),
    );
  });

  withBackendOptions(
    keys
      .command('revoke')
      .description('revoke an API key: it is refused from now on')
      .argument('<id>', 'the key id (from `verity keys list`)'),
  ).action(async (id: string, flags: BackendFlags) => {
    const revoked = await onServerOrStore(
      flags,
      (client) => client.revokeKey(id),
      async (store) => keyView(await new ApiKeys(store).revoke(id)),
    );
    console.log(`revoked ${revoked.role} key ${revoked.id} of ${revoked.principal}`);
  });
}
