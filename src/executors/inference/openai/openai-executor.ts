import type { z } from 'zod';
import type { Executor, ExecutorContext, ExecutorJob, ExecutorResult } from '../../executor.js';
import { ExecutorError } from '../../executor.js';
import { chat, chatInputSchema } from './chat.js';
import { loadOpenAiConfig } from './config.js';
import type { OpenAiConfigInput, OpenAiModelConfig, ResolvedOpenAiConfig } from './config.js';
import { embed, embedInputSchema } from './embeddings.js';
import { tokenCost } from './pricing.js';

const HEX_SHA256 = /^[0-9a-f]{64}$/;

/**
 * Hosted models over the OpenAI-compatible HTTP protocol (vLLM, llama.cpp's server, Ollama, OpenAI).
 * An input with `embed` asks for embeddings; anything else is a chat completion, always streamed so
 * that a cut connection is told from a finished reply. The attestation records the model the server
 * says it ran (its `model` field as the version; its `system_fingerprint` as the digest only if that is
 * a hex SHA-256, else in the output) and the cost its token counts come to.
 */
export class OpenAiExecutor implements Executor {
  readonly name = 'openai';
  readonly capabilities: { stepTypes: []; models: string[] };
  readonly config: ResolvedOpenAiConfig;
  private readonly models: Map<string, OpenAiModelConfig>;

  /** Takes a configuration as written (checked here) or one `loadOpenAiConfig` already resolved. */
  constructor(config: OpenAiConfigInput | ResolvedOpenAiConfig) {
    this.config = 'apiRoot' in config ? config : loadOpenAiConfig(config);
    this.models = new Map(this.config.models.map((m) => [m.name, m]));
    this.capabilities = { stepTypes: [], models: [...this.models.keys()] };
  }

  async run(job: ExecutorJob, context: ExecutorContext): Promise<ExecutorResult> {
    const name = job.spec.model?.name ?? '';
    const model = this.models.get(name);
    if (!model)
      throw new ExecutorError('unknown_model', `this worker's model config has no model ${name || '(none)'}`, {
        retryable: false,
      });
    const upstream = model.upstream ?? model.name;
    const input = withoutNulls(job.input);
    const call = { signal: context.signal, deadlineAt: job.deadlineAt };
    const reported = (version: string | undefined, fingerprint?: string) => ({
      name,
      ...(version !== undefined && { version }),
      // An attestation's digest is a hex SHA-256 (of the weights); a fingerprint such as OpenAI's
      // fp_44709d6fcb is not one, and would make the attestation invalid. The output keeps it instead.
      ...(fingerprint !== undefined && HEX_SHA256.test(fingerprint) && { digest: fingerprint }),
    });

    if (input !== null && typeof input === 'object' && 'embed' in input) {
      const reply = await embed(
        this.config,
        parse(embedInputSchema, input, 'embeddings need input embed: a string or a list of strings'),
        upstream,
        call,
      );
      const cost = reply.promptTokens === undefined ? undefined : tokenCost(model.pricing, reply.promptTokens, 0);
      return {
        output: reply.output,
        ...(cost !== undefined && { cost }),
        ...(reply.promptTokens !== undefined && { usage: { prompt_tokens: reply.promptTokens } }),
        model: reported(reply.model),
      };
    }

    const reply = await chat(
      this.config,
      parse(chatInputSchema, input, 'a chat needs input prompt (a string) or messages ([{ role, content }])'),
      upstream,
      call,
    );
    const usage = reply.output.usage;
    const cost = usage && tokenCost(model.pricing, usage.prompt_tokens, usage.completion_tokens);
    return {
      output: { ...reply.output, ...(reply.fingerprint !== undefined && { system_fingerprint: reply.fingerprint }) },
      ...(cost !== undefined && { cost }),
      ...(usage && { usage: { prompt_tokens: usage.prompt_tokens, completion_tokens: usage.completion_tokens } }),
      model: reported(reply.model, reply.fingerprint),
    };
  }
}

function parse<S extends z.ZodType>(schema: S, input: unknown, expected: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : 'input'}: ${i.message}`)
    .join('; ');
  throw new ExecutorError('invalid_input', `${expected} (${problems})`, { retryable: false });
}

/** Input mappings yield null for what a workflow leaves out: null means "not given" here. */
function withoutNulls(input: unknown): unknown {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return input;
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== null));
}
