import { describe, expect, it } from 'vitest';
import { blobLinksIn, isBlobLink, isRasterImage } from '../../../web/src/lib/blob.js';

/** How the dashboard's step panel finds the blobs a step's input or output points at. */
describe('the dashboard blob references', () => {
  const ref = (hex: string, mediaType = 'image/png') => ({ $blob: `sha256:${hex.repeat(64)}`, size: 3, mediaType });

  it('finds references anywhere in a value, once each', () => {
    const a = ref('a');
    const b = ref('b', 'application/json');
    expect(isBlobLink(a)).toBe(true);
    expect(isBlobLink({ ...a, extra: 1 })).toBe(false);
    expect(blobLinksIn(a)).toEqual([a]);
    expect(blobLinksIn({ image: a, list: [b, a], n: 1, s: 'x' })).toEqual([a, b]);
    expect(blobLinksIn({ $blob: 'sha256:nothex', size: 1, mediaType: 'x' })).toEqual([]);
  });

  it('draws raster images only', () => {
    expect(isRasterImage('image/png')).toBe(true);
    expect(isRasterImage('image/JPEG; q=1')).toBe(true);
    expect(isRasterImage('image/svg+xml')).toBe(false);
    expect(isRasterImage('text/html')).toBe(false);
  });
});
