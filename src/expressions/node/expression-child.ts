import { serveChild } from '../../sandbox/child-main.js';
import { evaluateSources } from '../evaluate.js';
import type { CoreLimits } from '../evaluate.js';
import type { EvaluationResult } from '../evaluator.js';

/** The child process of ProcessEvaluator: JSONata over the input it is sent, nothing else. */
export interface ExpressionRequest {
  sources: readonly string[];
  input: unknown;
  limits: CoreLimits;
}

serveChild<ExpressionRequest, EvaluationResult[]>((request) =>
  evaluateSources(request.sources, request.input, request.limits),
);
