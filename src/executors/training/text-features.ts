/** How texts become features: the one place training and inference must agree on. */
export interface FeatureOptions {
  /** 1: word unigrams; 2: unigrams and bigrams. */
  ngrams: 1 | 2;
}

const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu;

/** Lower-cased words: runs of letters and digits, keeping inner apostrophes ("don't"). */
export function words(text: string): string[] {
  return text.normalize('NFKC').toLowerCase().match(WORD) ?? [];
}

/** The features of one text, with repeats (a bag of words is their counts). */
export function features(text: string, options: FeatureOptions): string[] {
  const unigrams = words(text);
  if (options.ngrams === 1) return unigrams;
  const bigrams: string[] = [];
  for (let i = 1; i < unigrams.length; i++) bigrams.push(`${unigrams[i - 1]} ${unigrams[i]}`);
  return [...unigrams, ...bigrams];
}

/** Feature counts of one text. */
export function bagOfWords(text: string, options: FeatureOptions): Map<string, number> {
  const bag = new Map<string, number>();
  for (const feature of features(text, options)) bag.set(feature, (bag.get(feature) ?? 0) + 1);
  return bag;
}
