import { readFileSync } from 'node:fs';
import { defaultExecutors } from '../executors/defaults.js';
import type { Executor } from '../executors/executor.js';
import { ExecutorError } from '../executors/executor.js';
import { loadOpenAiConfig } from '../executors/inference/openai/config.js';
import { OpenAiExecutor } from '../executors/inference/openai/openai-executor.js';
import { CliError } from './errors.js';

/**
 * A worker's executors: the offline ones it always has, plus the hosted models a `--models-config` file
 * points at (an OpenAI-compatible server: vLLM, llama.cpp, Ollama, OpenAI; format in examples/llm-summary).
 */
export function workerExecutors(modelsConfig: string | undefined): Executor[] {
  if (modelsConfig === undefined || modelsConfig === '') return defaultExecutors();
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(modelsConfig, 'utf8'));
  } catch (error) {
    throw new CliError('usage', `--models-config ${modelsConfig}: cannot read it as JSON: ${(error as Error).message}`);
  }
  try {
    return [...defaultExecutors(), new OpenAiExecutor(loadOpenAiConfig(json))];
  } catch (error) {
    if (error instanceof ExecutorError)
      throw new CliError('usage', `--models-config ${modelsConfig}: ${error.message}`);
    throw error;
  }
}
