import { ApiError } from './errors.js';
import type { Quotas } from './quotas.js';

/** The server's limits that an operator sets in the environment, and the variable of each. */
export const SERVER_ENV = {
  requestTimeoutMs: 'VERITY_REQUEST_TIMEOUT_MS',
  blobLimit: 'VERITY_MAX_BLOB_BYTES',
  runningExecutions: 'VERITY_QUOTA_RUNNING_EXECUTIONS',
  streams: 'VERITY_QUOTA_STREAMS',
  blobBytes: 'VERITY_QUOTA_BLOB_BYTES',
  verifications: 'VERITY_QUOTA_VERIFICATIONS',
} as const;

export interface ServerEnv {
  requestTimeoutMs?: number;
  blobLimit?: number;
  quotas: Partial<Quotas>;
}

/**
 * Reads the server's limits from the environment, once, when the server is built: each unset (or empty)
 * variable leaves its default. A value that is not a whole number in range stops the server with a
 * message naming the variable, rather than being ignored and leaving the default in force unnoticed.
 */
export function serverEnv(env: NodeJS.ProcessEnv = process.env): ServerEnv {
  const read = (name: string, min: number): number | undefined => {
    const text = env[name]?.trim();
    if (text === undefined || text === '') return undefined;
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < min) {
      throw new ApiError('invalid_config', `${name}="${text}" is not a whole number of at least ${min}; fix it or unset it to use the default`);
    }
    return value;
  };
  const requestTimeoutMs = read(SERVER_ENV.requestTimeoutMs, 0);
  const blobLimit = read(SERVER_ENV.blobLimit, 1);
  const runningExecutions = read(SERVER_ENV.runningExecutions, 1);
  const streams = read(SERVER_ENV.streams, 1);
  const blobBytes = read(SERVER_ENV.blobBytes, 0);
  const verifications = read(SERVER_ENV.verifications, 1);
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
