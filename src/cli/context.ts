import type { Command } from 'commander';
import { readEnv } from '../env.js';
import { VerityNode, resolveNodeOptions } from '../node/verity-node.js';
import type { NodeOptions, NodeOptionsInput } from '../node/verity-node.js';
import { Option } from 'commander';
import { workerExecutors } from './models-config.js';

/** Options every command that touches the store accepts. */
export interface StoreFlags {
  dataDir?: string;
  databaseUrl?: string;
  debug?: boolean;
  /** Hosted models for the in-process worker (commands that run steps: run, resume, serve). */
  modelsConfig?: string;
}

export function withStoreOptions(command: Command): Command {
  return command
    .addOption(new Option('--data-dir <dir>', 'where local state lives').env('VERITY_DATA_DIR').default('.verity'))
    .addOption(
      new Option('--database-url <url>', 'postgres://… to use PostgreSQL instead of SQLite').env('VERITY_DATABASE_URL'),
    )
    .option('--debug', 'print stack traces and internal errors');
}

/**
 * What a local run (run, resume) lets inputs name files under: the data directory. Only here, where the
 * user owns every file anyway; a server's workers read no paths from inputs (NodeOptions.inputFileDir).
 */
export function localRunOptions(flags: StoreFlags): Partial<NodeOptions> {
  return {
    inputFileDir: resolveNodeOptions({ ...(flags.dataDir !== undefined && { dataDir: flags.dataDir }), executors: [] })
      .dataDir,
  };
}

/** Opens a node on the store the flags name, with `workers` in-process worker slots (0 = none). */
export async function openNode(
  flags: StoreFlags,
  workers: number,
  log: (line: string) => void,
  extra: NodeOptionsInput = {},
): Promise<VerityNode> {
  return VerityNode.open({
    ...(workers > 0 && { executors: workerExecutors(flags.modelsConfig ?? readEnv().VERITY_MODELS_CONFIG) }),
    ...extra,
    ...(flags.dataDir !== undefined && { dataDir: flags.dataDir }),
    databaseUrl: flags.databaseUrl || undefined,
    workers,
    onError: (error, context) => {
      if (flags.debug)
        log(
          `debug: ${error instanceof Error ? (error.stack ?? error.message) : String(error)} ${JSON.stringify(context ?? {})}`,
        );
    },
  });
}
