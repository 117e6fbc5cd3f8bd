/**
 * Money on the page: the API counts integer micro-units (1 credit = 1,000,000). Amounts are split into
 * whole credits and the remainder with integer operations only, so no amount is ever rounded by a float
 * on its way to the screen.
 */
export const MICRO_PER_CREDIT = 1_000_000;

/** Integer micro-units as credits: grouped thousands, trailing zeros dropped, e.g. 1234500000 → "1,234.5". */
export function credits(micro: number): string {
  if (!Number.isSafeInteger(micro)) return `${String(micro)} µ`;
  const negative = micro < 0;
  const abs = Math.abs(micro);
  const fraction = abs % MICRO_PER_CREDIT;
  // Exact: abs − fraction is a multiple of a million.
  const whole = (abs - fraction) / MICRO_PER_CREDIT;
  const grouped = String(whole).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const decimals = fraction === 0 ? '' : `.${String(fraction).padStart(6, '0').replace(/0+$/, '')}`;
  return `${negative ? '−' : ''}${grouped}${decimals}`;
}

/** A posting's amount with its sign always shown: money in is "+", money out "−". */
export function signedCredits(micro: number): string {
  if (micro > 0) return `+${credits(micro)}`;
  return credits(micro);
}

/**
 * Credits typed by a person ("2", "0.25", "1,000.5") as integer micro-units, or a message saying what is
 * wrong. More than six decimals would be a fraction of a micro-unit: refused rather than rounded.
 */
export function parseCredits(text: string): { micro: number } | { error: string } {
  const cleaned = text.trim().replace(/[,_\s]/g, '');
  if (cleaned === '') return { error: 'Enter an amount in credits.' };
  const match = /^(\d+)(?:\.(\d*))?$/.exec(cleaned);
  if (!match) return { error: `“${text.trim()}” is not an amount: use digits and at most one decimal point.` };
  const decimals = match[2] ?? '';
  if (decimals.length > 6) return { error: 'At most 6 decimals: one micro-unit is 0.000001 credits.' };
  const whole = Number(match[1]);
  const micro = whole * MICRO_PER_CREDIT + Number(decimals.padEnd(6, '0'));
  if (!Number.isSafeInteger(micro)) return { error: 'That amount is too large.' };
  return { micro };
}
