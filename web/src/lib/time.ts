// One formatter for every call: toLocaleString builds a new one each time, which dominated the rendering
// of 5,000 events.
const LOCAL = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

/** A timestamp in the viewer's own zone, short; the exact ISO value goes in the element's title. */
export function localTime(iso: string | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return LOCAL.format(date);
}

/** Integer micro-units as units, trailing zeros dropped. */
export function units(micro: number): string {
  return (micro / 1_000_000).toLocaleString(undefined, { maximumFractionDigits: 6 });
}
