import { LineCounter, isNode, parseDocument } from 'yaml';
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
 * bounded so a small file cannot expand into a huge one.
 */
export function parseWorkflowText(text: string): ParsedText {
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
  return { value, locate, issues: [] };
}
