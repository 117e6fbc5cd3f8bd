import { describe, expect, it } from 'vitest';
import { serverEnv } from '../../src/api/server-env.js';
import { EnvError, readEnv, VERITY_ENV } from '../../src/env.js';

function refusal(env: Record<string, string>): EnvError {
  try {
    readEnv(env);
  } catch (error) {
    if (error instanceof EnvError) return error;
    throw error;
  }
  throw new Error(`readEnv accepted ${JSON.stringify(env)}`);
}

describe('the VERITY_* variables', () => {
  it('leave unset and empty ones out, so their defaults apply', () => {
    expect(readEnv({})).toEqual({});
    expect(readEnv({ VERITY_LEASE_MS: '', VERITY_DATA_DIR: '', VERITY_SQLITE_SYNC: '' })).toEqual({});
  });

  it('parse each to what it takes', () => {
    expect(
      readEnv({
        VERITY_DATA_DIR: '/var/lib/verity',
        VERITY_LEASE_MS: '2000',
        VERITY_PROVERS: '0',
        VERITY_QUOTA_BLOB_BYTES: ' 1000 ',
        VERITY_REQUEST_TIMEOUT_MS: '0',
        VERITY_SQLITE_SYNC: 'full',
        VERITY_MAX_WORKERS_PER_PRINCIPAL: '3',
        // Not Verity's: left alone.
        VERITY_TEST_DATABASE_URL: 'postgres://x',
        PATH: '/bin',
      }),
    ).toEqual({
      VERITY_DATA_DIR: '/var/lib/verity',
      VERITY_LEASE_MS: 2000,
      VERITY_PROVERS: 0,
      VERITY_QUOTA_BLOB_BYTES: 1000,
      VERITY_REQUEST_TIMEOUT_MS: 0,
      VERITY_SQLITE_SYNC: 'full',
      VERITY_MAX_WORKERS_PER_PRINCIPAL: 3,
    });
  });

  it('refuse a bad value with an error naming the variable, the value and what it takes', () => {
    const error = refusal({ VERITY_MAX_WORKERS_PER_PRINCIPAL: 'abc' });
    expect(error.code).toBe('invalid_env');
    expect(error.message).toBe(
      "VERITY_MAX_WORKERS_PER_PRINCIPAL must be a positive integer, got 'abc'; fix it, or unset it to use the default",
    );
    expect(error.context).toEqual({ variable: 'VERITY_MAX_WORKERS_PER_PRINCIPAL', value: 'abc' });
    expect(refusal({ VERITY_SQLITE_SYNC: 'sometimes' }).message).toContain(
      "VERITY_SQLITE_SYNC must be one of normal, full, got 'sometimes'",
    );
    expect(refusal({ VERITY_LEASE_MS: '500' }).message).toContain(
      'VERITY_LEASE_MS must be a whole number of milliseconds of at least 1000',
    );
    expect(refusal({ VERITY_ZK_ARTIFACTS: 'abc' }).message).toContain(
      "VERITY_ZK_ARTIFACTS must be sha256:<64 hex digits> (the manifest digest `verity zk publish` printed), got 'abc'",
    );
    expect(refusal({ VERITY_PROVERS: '-1' }).message).toContain(
      "VERITY_PROVERS must be a whole number of at least 0, got '-1'",
    );
    for (const bad of ['0', '1.5', 'x', '1e400', '   ', '9007199254740993']) {
      expect(refusal({ VERITY_QUOTA_STREAMS: bad }).context, bad).toEqual({
        variable: 'VERITY_QUOTA_STREAMS',
        value: bad,
      });
    }
  });

  it('are the ones the readers use: the server limits come from them', () => {
    expect(serverEnv({ VERITY_REQUEST_TIMEOUT_MS: '2000', VERITY_QUOTA_STREAMS: '2' })).toEqual({
      requestTimeoutMs: 2000,
      quotas: { streams: 2 },
    });
    expect(() => serverEnv({ VERITY_MAX_BLOB_BYTES: '0' })).toThrow(
      "VERITY_MAX_BLOB_BYTES must be a positive integer, got '0'",
    );
    expect(Object.keys(VERITY_ENV).every((name) => name.startsWith('VERITY_'))).toBe(true);
  });
});
