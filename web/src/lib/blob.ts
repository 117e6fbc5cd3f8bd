/** A reference to bytes kept apart from a JSON value: `{ $blob: 'sha256:…', size, mediaType }`. */
export interface BlobLink {
  $blob: string;
  size: number;
  mediaType: string;
}

export function isBlobLink(value: unknown): value is BlobLink {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return (
    Object.keys(v).length === 3 &&
    typeof v.$blob === 'string' &&
    /^sha256:[0-9a-f]{64}$/.test(v.$blob) &&
    typeof v.size === 'number' &&
    typeof v.mediaType === 'string'
  );
}

/** The blob references in a JSON value, once each, in the order met (not deeper than `depth`). */
export function blobLinksIn(value: unknown, depth = 8): BlobLink[] {
  const found = new Map<string, BlobLink>();
  const walk = (v: unknown, d: number) => {
    if (d < 0 || v === null || typeof v !== 'object') return;
    if (isBlobLink(v)) {
      if (!found.has(v.$blob)) found.set(v.$blob, v);
      return;
    }
    for (const child of Array.isArray(v) ? v : Object.values(v)) walk(child, d - 1);
  };
  walk(value, depth);
  return [...found.values()];
}

/** Raster images a browser draws in an <img> (not SVG: a script-bearing format is only ever downloaded). */
export function isRasterImage(mediaType: string): boolean {
  return /^image\/(png|jpeg|gif|webp|avif|bmp)$/i.test(mediaType.split(';')[0]!.trim());
}
