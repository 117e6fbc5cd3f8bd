import { readEnv } from '../env.js';
import type { Quotas } from './quotas.js';

export interface ServerEnv {
  requestTimeoutMs?: number;
  blobLimit?: number;
  quotas: Partial<Quotas>;
}

/**
 * The server's limits that an operator sets in the environment (VERITY_REQUEST_TIMEOUT_MS,
 * VERITY_MAX_BLOB_BYTES, VERITY_QUOTA_*), read once, when the server is built: each unset (or empty) variable
 * leaves its default, and a bad value stops the server with an EnvError naming the variable (src/env.ts).
 */
export function serverEnv(env: Readonly<Record<string, string | undefined>> = process.env): ServerEnv {
  const read = readEnv(env);
  const requestTimeoutMs = read.VERITY_REQUEST_TIMEOUT_MS;
  const blobLimit = read.VERITY_MAX_BLOB_BYTES;
  const runningExecutions = read.VERITY_QUOTA_RUNNING_EXECUTIONS;
  const streams = read.VERITY_QUOTA_STREAMS;
  const blobBytes = read.VERITY_QUOTA_BLOB_BYTES;
  const verifications = read.VERITY_QUOTA_VERIFICATIONS;
  return {
    ...(requestTimeoutMs !== undefined && { requestTimeoutMs }),
    ...(blobLimit !== undefined && { blobLimit }),
    quotas: {
      ...(runningExecutions !== undefined && { runningExecutions }),
      ...(streams !== undefined && { streams }),
      ...(blobBytes !== undefined && { blobBytes }),
      ...(verifications !== undefined && { verifications }),
    },
  };
}
