import { CST, Lexer, LineCounter, Parser, isNode, parseDocument } from 'yaml';
import { exceedsDepth } from './json-depth.js';
import { LIMITS } from './limits.js';
import type { ValidationIssue } from './types.js';

/** Where a path of the document starts in its source text (1-based). */
export type Locator = (path: readonly (string | number)[]) => { line: number; column: number } | undefined;

export interface ParsedText {
  value: unknown;
  locate: Locator;
  issues: ValidationIssue[];
}

/**
 * Reads a definition from YAML or JSON text (YAML 1.2 is a superset of JSON, so one parser serves both and
 * gives line numbers for either). Duplicate keys are errors, not last-one-wins, and alias expansion is
 * bounded so a small file cannot expand into a huge one. Nesting is bounded too, measured on the parsed
 * text before the composer and toJS (which recurse) see it, and again after aliases are expanded.
 */
export function parseWorkflowText(text: string): ParsedText {
  const tooDeep: ParsedText = {
    value: undefined,
    locate: () => undefined,
    issues: [
      {
        path: '',
        code: 'too_deep',
        message: `the document nests deeper than ${LIMITS.maxDocumentDepth} levels; flatten it`,
      },
    ],
  };
  try {
    // The parser's time grows with the square of the nesting: bound it first with the lexer, which is linear.
    if (lexedDepthBound(text) > LIMITS.maxDocumentDepth || cstDepth(text) > LIMITS.maxDocumentDepth) return tooDeep;
  } catch (error) {
    if (error instanceof RangeError) return tooDeep;
    throw error;
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, strict: true });
  const locate: Locator = (path) => {
    const node: unknown = path.length === 0 ? doc.contents : doc.getIn(path, true);
    if (!isNode(node) || !node.range) return undefined;
    const pos = lineCounter.linePos(node.range[0]);
    return { line: pos.line, column: pos.col };
  };
  const issues: ValidationIssue[] = doc.errors.map((error) => {
    // linePos is only filled in with prettyErrors, which also rewrites the message; derive it from the offset.
    const pos = error.linePos?.[0] ?? lineCounter.linePos(error.pos[0]);
    return {
      path: '',
      code: 'syntax',
      message: `${error.message.split('\n')[0]}; fix the YAML/JSON syntax`,
      ...(pos ? { line: pos.line, column: pos.col } : {}),
    };
  });
  if (issues.length > 0) return { value: undefined, locate, issues };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    return {
      value: undefined,
      locate,
      issues: [{ path: '', code: 'syntax', message: `${(error as Error).message}; simplify the document` }],
    };
  }
  if (exceedsDepth(value, LIMITS.maxDocumentDepth)) return { ...tooDeep, locate };
  return { value, locate, issues: [] };
}

/**
 * An upper bound on the nesting, from the tokens alone: every level is either deeper indentation, an
 * indicator (`- `, `? `, `: `) on the same line, or a flow bracket. Used only to refuse early.
 */
function lexedDepthBound(text: string): number {
  let deepest = 0;
  let flow = 0;
  let line = 0;
  let atLineStart = true;
  for (const source of new Lexer().lex(text)) {
    const type = CST.tokenType(source);
    switch (type) {
      case 'newline':
        line = 0;
        atLineStart = true;
        continue;
      case 'space':
        if (atLineStart) line += source.length;
        break;
      case 'flow-map-start':
      case 'flow-seq-start':
        flow++;
        break;
      case 'flow-map-end':
      case 'flow-seq-end':
        flow = Math.max(0, flow - 1);
        break;
      case 'seq-item-ind':
      case 'explicit-key-ind':
      case 'map-value-ind':
        if (flow === 0) line++;
        break;
      default:
        break;
    }
    atLineStart = false;
    deepest = Math.max(deepest, line + flow);
    if (deepest > LIMITS.maxDocumentDepth) return deepest;
  }
  return deepest;
}

/** The deepest nesting of collections (block or flow) in any document of the text, walked without recursion. */
function cstDepth(text: string): number {
  let deepest = 0;
  const stack: [CST.Token | null | undefined, number][] = [];
  for (const token of new Parser().parse(text)) stack.push([token, 0]);
  while (stack.length > 0) {
    const [token, depth] = stack.pop()!;
    if (!token) continue;
    switch (token.type) {
      case 'document':
        stack.push([token.value, depth]);
        break;
      case 'block-map':
      case 'block-seq':
      case 'flow-collection':
        deepest = Math.max(deepest, depth + 1);
        if (deepest > LIMITS.maxDocumentDepth) return deepest;
        for (const item of token.items) {
          if ('key' in item) stack.push([item.key, depth + 1]);
          stack.push([item.value, depth + 1]);
        }
        break;
      default:
        break;
    }
  }
  return deepest;
}
