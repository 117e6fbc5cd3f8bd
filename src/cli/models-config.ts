import { readFileSync } from 'node:fs';
import { defaultExecutors } from '../executors/defaults.js';
import type { Executor } from '../executors/executor.js';
import { ExecutorError } from '../executors/executor.js';
import { loadHttpConfig } from '../executors/http/config.js';
import { HttpExecutor } from '../executors/http/http-executor.js';
import { loadOpenAiConfig } from '../executors/inference/openai/config.js';
import { OpenAiExecutor } from '../executors/inference/openai/openai-executor.js';
import { CliError } from './errors.js';

/**
 * A worker's executors: the offline ones it always has, plus what a `--models-config` file configures:
 * hosted models on an OpenAI-compatible server (vLLM, llama.cpp, Ollama, OpenAI; format in
 * examples/llm-summary) and, in its `http` section, the allow-list of `builtin/http` steps
 * (docs/http-steps.md). A file may hold either or both; without an `http` section no HTTP step is served.
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
    return [...defaultExecutors(), ...configuredExecutors(json)];
  } catch (error) {
    if (error instanceof ExecutorError)
      throw new CliError('usage', `--models-config ${modelsConfig}: ${error.message}`);
    throw error;
  }
}

/** The executors one models-config document describes (throws ExecutorError `invalid_config`). */
export function configuredExecutors(
  json: unknown,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Executor[] {
  if (json === null || typeof json !== 'object' || Array.isArray(json) || !('http' in json))
    return [new OpenAiExecutor(loadOpenAiConfig(json, env))];
  const { http, ...models } = json as Record<string, unknown>;
  const executors: Executor[] = [new HttpExecutor(loadHttpConfig(http, env))];
  // A file with only an `http` section configures no model server.
  if (Object.keys(models).length > 0) executors.push(new OpenAiExecutor(loadOpenAiConfig(models, env)));
  return executors;
}
