import { BuiltinExecutor } from './builtin/builtin-executor.js';
import { DataBuiltinsExecutor } from './data/builtins-executor.js';
import { JsonataExecutor } from './data/jsonata-executor.js';
import type { Executor } from './executor.js';
import { WinkNlpExecutor } from './inference/nlp/wink-executor.js';
import { PaddleOcrExecutor } from './inference/ocr/paddle-ocr-executor.js';
import { NaiveBayesExecutor } from './training/trainer-executor.js';

/**
 * The executors every worker has out of the box: everything that runs offline on this machine with what
 * the package ships. Hosted models (OpenAI-compatible servers) are added by configuration.
 */
export function defaultExecutors(): Executor[] {
  return [
    new JsonataExecutor(),
    new BuiltinExecutor(),
    new DataBuiltinsExecutor(),
    new WinkNlpExecutor(),
    new NaiveBayesExecutor(),
    new PaddleOcrExecutor(),
  ];
}
