import { readEnv } from '../env.js';
import type { StoreTx } from '../store/store.js';
import { CoordinatorError } from './errors.js';

/**
 * How much one principal (the name behind a worker API key) may register. Worker keys are free to make, so
 * without caps one key could register workers without end (each a claimant, each a row) and fill the zk
 * worker registry, which holds 2^depth keys for everyone: once it is full no zk receipt can be issued.
 */
export interface RegistrationCaps {
  /** Distinct worker keys among a principal's active workers. Default: VERITY_MAX_WORKERS_PER_PRINCIPAL, else 64. */
  maxWorkersPerPrincipal: number;
  /** Keys a principal's workers put in the zk worker registry (it never forgets one). Default: VERITY_MAX_ZK_KEYS_PER_PRINCIPAL, else 32. */
  maxZkKeysPerPrincipal: number;
}

export const DEFAULT_REGISTRATION_CAPS: RegistrationCaps = { maxWorkersPerPrincipal: 64, maxZkKeysPerPrincipal: 32 };

/** The caps with the environment's overrides; a value that is not a positive integer is an EnvError (src/env.ts). */
export function registrationCapsFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): RegistrationCaps {
  const read = readEnv(env);
  return {
    maxWorkersPerPrincipal: read.VERITY_MAX_WORKERS_PER_PRINCIPAL ?? DEFAULT_REGISTRATION_CAPS.maxWorkersPerPrincipal,
    maxZkKeysPerPrincipal: read.VERITY_MAX_ZK_KEYS_PER_PRINCIPAL ?? DEFAULT_REGISTRATION_CAPS.maxZkKeysPerPrincipal,
  };
}

/**
 * Refuses a registration past a cap, inside the registering transaction. A key already registered (a
 * worker restarting with its key) takes nothing new, so it always passes. Throws CoordinatorError
 * `quota_exceeded` naming the quota, its limit and what to do.
 */
export async function checkRegistrationCaps(
  tx: StoreTx,
  caps: RegistrationCaps,
  registration: { principal: string; keyId?: string; zkPublicKey?: { x: string; y: string } },
): Promise<void> {
  const { principal } = registration;
  if (registration.keyId !== undefined) {
    const keys = await tx.listActiveWorkerKeyIds(principal);
    if (!keys.includes(registration.keyId) && keys.length >= caps.maxWorkersPerPrincipal) {
      throw new CoordinatorError(
        'quota_exceeded',
        `quota workers_per_principal: ${principal} already has ${keys.length} active workers with distinct keys, the most allowed (${caps.maxWorkersPerPrincipal}); deregister workers it no longer runs, restart workers with their existing key, or ask the operator to raise VERITY_MAX_WORKERS_PER_PRINCIPAL`,
        { context: { quota: 'workers_per_principal', limit: caps.maxWorkersPerPrincipal, principal } },
      );
    }
  }
  const zk = registration.zkPublicKey;
  if (zk !== undefined && !(await tx.findZkRegistryKey(zk.x, zk.y))) {
    const count = await tx.countZkKeysOfPrincipal(principal);
    if (count >= caps.maxZkKeysPerPrincipal) {
      throw new CoordinatorError(
        'quota_exceeded',
        `quota zk_keys_per_principal: the workers of ${principal} have put ${count} Baby Jubjub keys in the zk worker registry, the most allowed (${caps.maxZkKeysPerPrincipal}); the registry never forgets a key, so reuse an existing zk key (keys/worker.zk.key), or ask the operator to raise VERITY_MAX_ZK_KEYS_PER_PRINCIPAL`,
        { context: { quota: 'zk_keys_per_principal', limit: caps.maxZkKeysPerPrincipal, principal } },
      );
    }
  }
}
