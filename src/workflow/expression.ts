import jsonata from 'jsonata';
import { LIMITS } from './limits.js';

/** A compiled JSONata expression with Verity's guardrails (time, stack depth) always on. */
export interface CompiledExpression {
  readonly source: string;
  readonly ast: unknown;
  evaluate(input: unknown, bindings?: Record<string, unknown>): Promise<unknown>;
}

export interface ExpressionSyntaxError {
  message: string;
  position: number;
  code: string;
}

const cache = new Map<string, CompiledExpression>();
const CACHE_LIMIT = 10_000;

/**
 * Compiles (and caches) an expression. Throws the JSONata error object for a syntax error; use
 * `checkExpression` to get it as a value.
 */
export function compileExpression(source: string): CompiledExpression {
  const hit = cache.get(source);
  if (hit) return hit;
  const compiled = jsonata(source, {
    timeout: LIMITS.expressionTimeoutMs,
    stack: LIMITS.expressionMaxDepth,
  });
  const result: CompiledExpression = {
    source,
    ast: compiled.ast(),
    evaluate: (input, bindings) => compiled.evaluate(input, bindings) as Promise<unknown>,
  };
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(source, result);
  return result;
}

/** What validation needs to know about an expression source: does it parse, and which steps it reads. */
export type ExpressionAnalysis = { ok: true; refs: StepReferences } | { ok: false; error: ExpressionSyntaxError };

/** A plain dotted path of JSONata names (`steps.fetch.output.text`, `inputs.url`), optionally from `$$`. */
const SIMPLE_PATH = /^\s*(\$\$\.)?([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*$/;
/** Words that are JSONata operators or literals, not names, when they stand alone in a path. */
const RESERVED = new Set(['and', 'or', 'in', 'true', 'false', 'null', 'function']);

/**
 * Parses an expression and finds the steps it reads. Simple dotted paths, the bulk of mappings, are
 * understood without running JSONata's parser (which costs tens of microseconds per expression and
 * dominates validating large workflows); anything else goes through the real parser. Both give the same
 * answer for simple paths (a unit test holds them to it).
 */
export function analyzeExpression(source: string): ExpressionAnalysis {
  const simple = SIMPLE_PATH.exec(source);
  if (simple) {
    const names = [simple[2]!, ...simple[3]!.split('.').slice(1)];
    if (!names.some((n) => RESERVED.has(n))) {
      const refs: StepReferences = { steps: new Set(), dynamic: false };
      if (names[0] === 'steps') {
        if (names[1] === undefined) refs.dynamic = true;
        else refs.steps.add(names[1]);
      }
      return { ok: true, refs };
    }
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

/**
 * Evaluates and turns JSONata's results into plain JSON: JSONata returns sequences (arrays with extra
 * properties) and `undefined` for "no match", which must not leak into digests or storage.
 */
export async function evaluateToJson(expr: CompiledExpression, input: unknown): Promise<unknown> {
  const value = await expr.evaluate(input);
  return toPlainJson(value);
}

export function toPlainJson(value: unknown): unknown {
  if (value === undefined) return undefined;
  if (typeof value === 'function') return undefined;
  // JSONata functions and lambdas are objects, not JS functions; a lambda holds its (circular) environment.
  if (isJsonataFunction(value)) return undefined;
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  if (Array.isArray(value)) return value.map((item) => toPlainJson(item) ?? null);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const plain = toPlainJson(item);
      if (plain !== undefined) out[key] = plain;
    }
    return out;
  }
  return value;
}

function isJsonataFunction(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  const v = value as { _jsonata_function?: unknown; _jsonata_lambda?: unknown };
  return v._jsonata_function === true || v._jsonata_lambda === true;
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
  if (atRoot && (n.type === 'wildcard' || n.type === 'descendant' || (n.type === 'variable' && (n.value === '' || n.value === '$')))) {
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
