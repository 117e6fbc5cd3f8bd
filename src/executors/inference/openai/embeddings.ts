import { z } from 'zod';
import { ExecutorError } from '../../executor.js';
import type { ResolvedOpenAiConfig } from './config.js';
import { describeServer } from './config.js';
import { postJson } from './http.js';

export const embedInputSchema = z.object({
  embed: z.union([z.string(), z.array(z.string()).min(1).max(2048)]),
});

export type EmbedInput = z.output<typeof embedInputSchema>;

export interface EmbedReply {
  output: { embeddings: number[][] };
  promptTokens: number | undefined;
  model: string | undefined;
}

/** Embeds one text or several: one vector per text, in the order given. */
export async function embed(
  config: ResolvedOpenAiConfig,
  input: EmbedInput,
  upstream: string,
  job: { signal: AbortSignal; deadlineAt: number },
): Promise<EmbedReply> {
  const server = describeServer(config.apiRoot);
  const texts = typeof input.embed === 'string' ? [input.embed] : input.embed;
  const body = await postJson(
    {
      config,
      path: '/embeddings',
      body: { model: upstream, input: texts },
      signal: job.signal,
      deadlineAt: job.deadlineAt,
    },
    async (response) => {
      try {
        return await response.json();
      } catch (error) {
        throw new ExecutorError('invalid_response', `the model server at ${server} sent embeddings that are not JSON`, {
          retryable: true,
          cause: error,
        });
      }
    },
  );
  const parsed = embeddingsResponseSchema.safeParse(body);
  if (!parsed.success || parsed.data.data.length !== texts.length) {
    throw new ExecutorError(
      'invalid_response',
      `the model server at ${server} sent an embeddings response without one vector per text (data[].embedding)`,
      {
        retryable: true,
      },
    );
  }
  const data = [...parsed.data.data].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
  return {
    output: { embeddings: data.map((d) => d.embedding) },
    promptTokens: parsed.data.usage?.prompt_tokens,
    model: parsed.data.model,
  };
}

const embeddingsResponseSchema = z.object({
  data: z.array(z.object({ embedding: z.array(z.number()), index: z.int().min(0).optional() })),
  model: z.string().min(1).optional(),
  usage: z.object({ prompt_tokens: z.int().min(0) }).optional(),
});
