import { describe, expect, it } from 'vitest';
import { chunkText } from '../../../src/executors/data/builtins-ops.js';

describe('chunkText', () => {
  it('packs whole sentences when they fit', () => {
    expect(chunkText('One two. Three four. Five six seven.', 20)).toEqual(['One two. Three four.', 'Five six seven.']);
  });

  it('splits a long sentence between words, never inside one', () => {
    const chunks = chunkText('alpha beta gamma delta epsilon zeta eta theta', 12);
    expect(chunks).toEqual(['alpha beta', 'gamma delta', 'epsilon zeta', 'eta theta']);
  });

  it('cuts only a word longer than a chunk', () => {
    expect(chunkText('a supercalifragilistic b', 8)).toEqual(['a', 'supercal', 'ifragili', 'stic b']);
  });

  it('begins each chunk with up to `overlap` characters of whole words from the one before', () => {
    const chunks = chunkText('alpha beta gamma delta epsilon zeta', 17, 6);
    expect(chunks).toEqual(['alpha beta gamma', 'gamma delta', 'delta epsilon', 'zeta']);
    // Overlap gives way so that the next words always fit.
    for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(17);
  });

  it('normalizes whitespace and gives nothing for blank text', () => {
    expect(chunkText('  a\n\n b\tc  ', 100)).toEqual(['a b c']);
    expect(chunkText(' \n ', 10)).toEqual([]);
  });
});
