import type { Command } from 'commander';
import { Option } from 'commander';
import { openBlobStore, parseBlobSetting } from '../../blobs/blob-config.js';
import { readEnv } from '../../env.js';
import { resolveNodeOptions } from '../../node/verity-node.js';
import { openStore } from '../../store/open-store.js';
import type { Store } from '../../store/store.js';
import { publishZkArtifacts } from '../../zk/bucket/publish.js';
import { table } from '../format.js';
import { withZkOptions, zkConfigOf, zkDirOf } from './zk.js';
import type { ZkFlags } from './zk.js';

interface PublishFlags extends ZkFlags {
  databaseUrl?: string;
  blobs?: string;
  json?: boolean;
}

/**
 * `verity zk publish`: puts a finished setup into the blob store the replicas share (the same settings as
 * `verity serve`: VERITY_BLOBS, the S3 variables, VERITY_DATABASE_URL for `postgres`), and prints the
 * manifest's digest, which replicas are given as VERITY_ZK_ARTIFACTS instead of a copy of the directory.
 */
export function registerZkPublish(zk: Command): void {
  withZkOptions(
    zk
      .command('publish')
      .description(
        "put the setup's artifacts into the blob store and print the manifest digest replicas take them by (VERITY_ZK_ARTIFACTS)",
      )
      .addOption(
        new Option('--blobs <store>', 'the blob store: file, postgres or s3://<bucket>/<prefix> (as verity serve)').env(
          'VERITY_BLOBS',
        ),
      )
      .addOption(
        new Option('--database-url <url>', 'the PostgreSQL database (needed for --blobs postgres)').env(
          'VERITY_DATABASE_URL',
        ),
      )
      .option('--json', 'print the manifest and its digest as JSON'),
  ).action(async (flags: PublishFlags) => {
    readEnv();
    const options = resolveNodeOptions({
      ...(flags.dataDir !== undefined && { dataDir: flags.dataDir }),
      ...(flags.databaseUrl && { databaseUrl: flags.databaseUrl }),
      ...(flags.blobs !== undefined && { blobs: parseBlobSetting(flags.blobs) }),
      executors: [],
    });
    // The database blob store keeps bytes in tables the store's migrations make: open (and migrate) it first.
    let store: Store | undefined;
    if (options.blobs.kind === 'postgres')
      store = await openStore({ dataDir: options.dataDir, databaseUrl: options.databaseUrl });
    try {
      const blobs = await openBlobStore(options.blobs, {
        store: store ?? { kind: 'sqlite', location: options.dataDir },
        databaseUrl: options.databaseUrl,
        dataDir: options.dataDir,
      });
      try {
        const { digest, manifest } = await publishZkArtifacts(blobs, zkDirOf(flags), zkConfigOf(flags));
        if (flags.json) {
          process.stdout.write(JSON.stringify({ digest, manifest }, null, 2) + '\n');
          return;
        }
        console.error(
          table([
            ['ARTIFACT', 'SIZE', 'BLOB'],
            ...Object.entries(manifest.files).map(([name, file]) => [name, String(file.size), file.digest]),
          ]),
        );
        console.error(
          `published ${manifest.circuitId} to ${blobs.kind} ${blobs.location}; on every replica that proves, with the same blob store settings, set VERITY_ZK_ARTIFACTS=${digest}`,
        );
        process.stdout.write(`${digest}\n`);
      } finally {
        await blobs.close();
      }
    } finally {
      await store?.close();
    }
  });
}
