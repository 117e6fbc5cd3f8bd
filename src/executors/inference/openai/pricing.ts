import type { OpenAiModelConfig } from './config.js';

/**
 * The cost of a call in integer micro-units: tokens times the price per million, rounded up so that a
 * call is never charged less than it cost. Exact in BigInt, whatever the counts.
 */
export function tokenCost(
  pricing: OpenAiModelConfig['pricing'],
  promptTokens: number,
  completionTokens: number,
): number | undefined {
  if (!pricing) return undefined;
  const micro =
    BigInt(promptTokens) * BigInt(pricing.inputPerMillion) +
    BigInt(completionTokens) * BigInt(pricing.outputPerMillion);
  const cost = (micro + 999_999n) / 1_000_000n;
  return cost > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(cost);
}
