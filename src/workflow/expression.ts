import jsonata from 'jsonata';
import { simplePath } from '../expressions/fast-path.js';

/**
 * A parsed JSONata expression: its syntax tree, for validation and for finding what it reads. Parsing
 * runs here, in-process (bounded by the source's length, which the schema caps); evaluating never does:
 * expressions are evaluated by an ExpressionEvaluator, in a sandbox (src/expressions/).
 */
export interface CompiledExpression {
  readonly source: string;
  readonly ast: unknown;
}

export interface ExpressionSyntaxError {
  message: string;
  position: number;
  code: string;
}

const cache = new Map<string, CompiledExpression>();
const CACHE_LIMIT = 10_000;

/**
 * Parses (and caches) an expression. Throws the JSONata error object for a syntax error; use
 * `checkExpression` to get it as a value.
 */
export function compileExpression(source: string): CompiledExpression {
  const hit = cache.get(source);
  if (hit) return hit;
  const result: CompiledExpression = { source, ast: jsonata(source).ast() };
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(source, result);
  return result;
}

/** What validation needs to know about an expression source: does it parse, and which steps it reads. */
export type ExpressionAnalysis = { ok: true; refs: StepReferences } | { ok: false; error: ExpressionSyntaxError };

/**
 * Parses an expression and finds the steps it reads. Simple dotted paths, the bulk of mappings, are
 * understood without running JSONata's parser (which costs tens of microseconds per expression and
 * dominates validating large workflows); anything else goes through the real parser. Both give the same
 * answer for simple paths (a unit test holds them to it).
 */
export function analyzeExpression(source: string): ExpressionAnalysis {
  const names = simplePath(source);
  if (names) {
    const refs: StepReferences = { steps: new Set(), dynamic: false };
    if (names[0] === 'steps') {
      if (names[1] === undefined) refs.dynamic = true;
      else refs.steps.add(names[1]);
    }
    return { ok: true, refs };
  }
  const error = checkExpression(source);
  return error ? { ok: false, error } : { ok: true, refs: stepReferences(compileExpression(source)) };
}

export function checkExpression(source: string): ExpressionSyntaxError | undefined {
  try {
    compileExpression(source);
    return undefined;
  } catch (error) {
    const e = error as { message?: string; position?: number; code?: string };
    return { message: e.message ?? String(error), position: e.position ?? 0, code: e.code ?? 'S0000' };
  }
}

/** What an expression reads from the `steps` part of its context. */
export interface StepReferences {
  /** Step ids named statically: `steps.fetch.output`. */
  steps: Set<string>;
  /** True when `steps` is read in a way that cannot be resolved statically (`$lookup(steps, x)`, `steps.*`). */
  dynamic: boolean;
}

/**
 * Finds the step ids an expression reads through `steps.<id>` (or `$$.steps.<id>`). Paths nested inside
 * other paths are relative to their context item, not the root, so only root-level paths count.
 */
export function stepReferences(expr: CompiledExpression): StepReferences {
  const refs: StepReferences = { steps: new Set(), dynamic: false };
  visit(expr.ast, refs, true);
  return refs;
}

/** JSONata's AST, as far as reference finding needs it (its published type omits `path` nodes). */
interface Node {
  type: string;
  value?: unknown;
  steps?: unknown;
  stages?: unknown;
  predicate?: unknown;
  [key: string]: unknown;
}

function visit(node: unknown, refs: StepReferences, atRoot: boolean): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const item of node) visit(item, refs, atRoot);
    return;
  }
  const n = node as Node;
  if (n.type === 'path' && Array.isArray(n.steps)) {
    const steps = n.steps as Node[];
    let first = 0;
    // `$$.steps.x` reads from the root explicitly, wherever it appears.
    const rootVar = steps[0]?.type === 'variable' && steps[0].value === '$';
    // At the root, `$` is the root context too: `$.steps.x` reads step x.
    const contextVar = atRoot && steps[0]?.type === 'variable' && steps[0].value === '';
    if (rootVar || contextVar) first = 1;
    const head = steps[first];
    if (atRoot || rootVar) {
      if (head?.type === 'name' && head.value === 'steps') {
        const next = steps[first + 1];
        if (next?.type === 'name' && typeof next.value === 'string' && !head.stages && !head.predicate) {
          refs.steps.add(next.value);
        } else {
          refs.dynamic = true;
        }
      } else if (head === undefined || head.type === 'wildcard' || head.type === 'descendant') {
        // `$$` alone, `*.output`, `**.status`: reads whatever steps are in the context.
        refs.dynamic = true;
      }
    }
    steps.forEach((step, i) => visitChildren(step, refs, i === 0 && atRoot));
    // The path's own group (`inputs{ 'k': $$.steps.a.output }`) is evaluated per item, not at the root.
    visitChildren(n, refs, false);
    return;
  }
  if (atRoot && n.type === 'name' && n.value === 'steps') {
    // A bare `steps` handed to a function, e.g. `$keys(steps)` or `$lookup(steps, $k)`.
    refs.dynamic = true;
  }
  if (
    atRoot &&
    (n.type === 'wildcard' || n.type === 'descendant' || (n.type === 'variable' && (n.value === '' || n.value === '$')))
  ) {
    // `*`, `**`, or the whole context (`$`, `$$`) handed on: every step in the context is read.
    refs.dynamic = true;
  }
  visitChildren(n, refs, atRoot);
}

function visitChildren(n: Node, refs: StepReferences, atRoot: boolean): void {
  for (const [key, child] of Object.entries(n)) {
    if (key === 'steps' && n.type === 'path') continue;
    if (child !== null && typeof child === 'object') {
      // Inside a path step's predicate or stages the context is the current item, not the root.
      const nestedInPath = key === 'stages' || key === 'predicate' || key === 'group';
      visit(child, refs, atRoot && !nestedInPath);
    }
  }
}

/**
 * Functions whose results change from one evaluation to the next, and `$eval`, which can call them from a
 * string: an expression that names any of them cannot be re-run to check it. Read from the syntax tree,
 * so a comment or a string that mentions `$now(` changes nothing, and a reference that is not a call
 * (`$f := $now`) still counts. An expression that does not parse is not deterministic either.
 */
const NONDETERMINISTIC = new Set(['now', 'millis', 'random', 'eval']);

export function isDeterministic(source: string): boolean {
  let ast: unknown;
  try {
    ast = compileExpression(source).ast;
  } catch {
    return false;
  }
  const stack: unknown[] = [ast];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      stack.push(...(node as unknown[]));
      continue;
    }
    const n = node as { type?: unknown; value?: unknown };
    if (n.type === 'variable' && typeof n.value === 'string' && NONDETERMINISTIC.has(n.value)) return false;
    stack.push(...(Object.values(node) as unknown[]));
  }
  return true;
}
