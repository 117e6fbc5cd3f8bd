import { describe, expect, it } from 'vitest';
import { blobDigestsIn, blobRefsIn } from '../../../src/blobs/blob-ref.js';

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const ref = (c: string) => ({ $blob: digest(c), size: 3, mediaType: 'image/png' });

describe('finding blob references in JSON', () => {
  it('lists references depth first, each once, and not what only looks like one', () => {
    const value = {
      a: [ref('a'), { inner: ref('b') }],
      b: ref('a'),
      fake: { $blob: digest('c'), size: 1, mediaType: 'x', extra: true },
      bare: digest('d'),
    };
    expect(blobRefsIn(value).map((r) => r.$blob)).toEqual([digest('a'), digest('b')]);
    // Any digest string a job's input names is one it may ask for, the look-alike's included.
    expect([...blobDigestsIn(value)]).toEqual([digest('a'), digest('b'), digest('c'), digest('d')]);
  });

  it('walks values nested far deeper than the call stack allows', () => {
    const depth = 200_000;
    let value: unknown = ref('e');
    for (let i = 0; i < depth; i++) value = i % 2 === 0 ? { x: value } : [value];
    expect(blobRefsIn(value).map((r) => r.$blob)).toEqual([digest('e')]);
    expect(blobDigestsIn(value).has(digest('e'))).toBe(true);
  });
});
