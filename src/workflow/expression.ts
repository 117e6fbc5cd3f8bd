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
    if (rootVar) first = 1;
    if ((atRoot || rootVar) && steps[first]?.type === 'name' && steps[first]?.value === 'steps') {
      const next = steps[first + 1];
      const head = steps[first] as Node;
      if (next?.type === 'name' && typeof next.value === 'string' && !head.stages && !head.predicate) {
        refs.steps.add(next.value);
      } else {
        refs.dynamic = true;
      }
    }
    steps.forEach((step, i) => visitChildren(step, refs, i === 0 && atRoot));
    return;
  }
  if (n.type === 'name' && n.value === 'steps' && atRoot) {
    // A bare `steps` handed to a function, e.g. `$keys(steps)` or `$lookup(steps, $k)`.
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
