import type { WinkMethods } from 'wink-nlp';

/** What the `wink-nlp` model returns for one text. */
export interface TextAnalysis {
  sentences: string[];
  entities: { value: string; type: string }[];
  /** wink's sentiment score, from -1 (negative) to 1 (positive), rounded to 3 decimals. */
  sentiment: number;
  /** How many tokens wink read, punctuation included. */
  tokens: number;
}

/** Sentences, named entities, sentiment and token count of one text, as wink's model sees them. */
export function analyzeText(nlp: WinkMethods, text: string): TextAnalysis {
  // wink's `its` helpers are plain functions that wink calls itself; they never use `this`.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const { detail, sentiment } = nlp.its;
  const doc = nlp.readDoc(text);
  // wink hands back objects without a prototype; copy them into plain JSON values.
  const entities = doc
    .entities()
    .out(detail)
    .map((entity) => {
      const { value, type } = entity as { value: string; type: string };
      return { value, type };
    });
  return {
    sentences: doc.sentences().out(),
    entities,
    sentiment: round3(doc.out(sentiment) as unknown as number),
    tokens: doc.tokens().length(),
  };
}

function round3(value: number): number {
  if (!Number.isFinite(value)) return 0;
  const rounded = Math.round(value * 1000) / 1000;
  // -0 and 0 serialize alike, but keep the value tidy for equality checks.
  return rounded === 0 ? 0 : rounded;
}
