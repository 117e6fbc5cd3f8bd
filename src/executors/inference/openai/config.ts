import { z } from 'zod';
import { ExecutorError } from '../../executor.js';

/**
 * The configuration of one OpenAI-compatible server (vLLM, llama.cpp's server, Ollama, OpenAI) and the
 * models a worker serves from it. Prices are integer micro-units per million tokens, like every cost.
 */

const MAX_PRICE = 1_000_000_000_000;
const price = z
  .int({ error: 'must be an integer number of micro-units per million tokens' })
  .min(0, { error: 'must be at least 0' })
  .max(MAX_PRICE);

export const openAiModelSchema = z.strictObject({
  /** The name steps ask for in `model_requirements.name`. */
  name: z.string({ error: 'name the model as steps ask for it, for example llm' }).min(1).max(200),
  /** The model name the server knows (`model` in the request). Default: `name`. */
  upstream: z.string().min(1).max(200).optional(),
  pricing: z
    .strictObject({
      inputPerMillion: price,
      outputPerMillion: price,
    })
    .optional(),
});

export const openAiConfigSchema = z
  .strictObject({
    /** The server's root, with or without the trailing `/v1`: http://127.0.0.1:8000 or https://api.openai.com/v1. */
    baseUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://127.0.0.1:8000' }),
    /** Sent as `Authorization: Bearer <apiKey>`. Never written to a message or a log. */
    apiKey: z.string().min(1).optional(),
    /** The environment variable that holds the API key, so the key stays out of config files. */
    apiKeyEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an environment variable name' })
      .optional(),
    models: z
      .array(openAiModelSchema, { error: 'must be a list of models, for example [{ "name": "llm" }]' })
      .min(1, { error: 'list at least one model' }),
    /** One HTTP request, from sending it to the last byte of its stream. Default: 120000 (2 min). */
    timeoutMs: z.int().min(1).max(3_600_000).optional(),
    /** How often a 429 is waited out (per its retry-after) inside one attempt before giving up. Default: 2. */
    maxRetries: z.int().min(0).max(10).optional(),
  })
  .refine((c) => new Set(c.models.map((m) => m.name)).size === c.models.length, {
    error: 'model names must be distinct',
    path: ['models'],
  });

export type OpenAiModelConfig = z.output<typeof openAiModelSchema>;
export type OpenAiConfigInput = z.input<typeof openAiConfigSchema>;

/** The configuration, resolved once: defaults applied, the key read from the environment if named. */
export interface ResolvedOpenAiConfig {
  /** The API root, always ending in `/v1`, without a trailing slash. */
  apiRoot: string;
  apiKey: string | undefined;
  models: OpenAiModelConfig[];
  timeoutMs: number;
  maxRetries: number;
}

export const OPENAI_DEFAULTS = { timeoutMs: 120_000, maxRetries: 2 } as const;

/**
 * Parses and checks a configuration (from a `--models-config` file, say). Throws an ExecutorError
 * `invalid_config` naming every bad field.
 */
export function loadOpenAiConfig(
  json: unknown,
  env: Readonly<Record<string, string | undefined>> = process.env,
): ResolvedOpenAiConfig {
  const parsed = openAiConfigSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(config)'}: ${issue.message}`,
    );
    throw new ExecutorError('invalid_config', `invalid OpenAI-compatible model config: ${problems.join('; ')}`, {
      retryable: false,
    });
  }
  const config = parsed.data;
  let apiKey = config.apiKey;
  if (config.apiKeyEnv !== undefined) {
    if (apiKey !== undefined)
      throw new ExecutorError(
        'invalid_config',
        'invalid OpenAI-compatible model config: give apiKey or apiKeyEnv, not both',
        { retryable: false },
      );
    apiKey = env[config.apiKeyEnv];
    if (apiKey === undefined || apiKey === '') {
      throw new ExecutorError(
        'invalid_config',
        `invalid OpenAI-compatible model config: apiKeyEnv: the environment variable ${config.apiKeyEnv} is not set`,
        {
          retryable: false,
        },
      );
    }
  }
  return {
    apiRoot: apiRoot(config.baseUrl),
    apiKey,
    models: config.models,
    timeoutMs: config.timeoutMs ?? OPENAI_DEFAULTS.timeoutMs,
    maxRetries: config.maxRetries ?? OPENAI_DEFAULTS.maxRetries,
  };
}

function apiRoot(baseUrl: string): string {
  const trimmed = baseUrl.replace(/\/+$/, '');
  return trimmed.endsWith('/v1') ? trimmed : `${trimmed}/v1`;
}

/** Where the server is, for messages: the origin only, so credentials in the URL never reach one. */
export function describeServer(apiRoot: string): string {
  try {
    return new URL(apiRoot).origin;
  } catch {
    return 'the model server';
  }
}
