import { readEnv } from '../env.js';

/** The platform's fee when VERITY_PLATFORM_FEE_BPS is unset: 5 % of every price. */
export const DEFAULT_PLATFORM_FEE_BPS = 500;

/**
 * f, the platform fee rate in basis points (VERITY_PLATFORM_FEE_BPS, 0..10000): read where a server or a
 * CLI command starts, so that one process applies one rate; a bad value is an EnvError naming the variable.
 */
export function platformFeeBps(env: Readonly<Record<string, string | undefined>> = process.env): number {
  return readEnv(env).VERITY_PLATFORM_FEE_BPS ?? DEFAULT_PLATFORM_FEE_BPS;
}
