import { z } from 'zod';
import { ExecutorError } from '../../executor.js';
import type { ResolvedOpenAiConfig } from './config.js';
import { describeServer } from './config.js';
import { postJson } from './http.js';
import { sseEvents } from './sse-lines.js';

/**
 * A content part, passed through as the server expects it, except that an image may come only inline, as
 * a `data:` URL: the model server fetches any other URL itself, so a step's input (which a workflow
 * expression or a client writes) would make it reach hosts and files of the caller's choosing.
 */
const contentPart = z.record(z.string(), z.unknown()).superRefine((part, ctx) => {
  if (!('image_url' in part)) return;
  const value = part.image_url;
  const url =
    typeof value === 'string'
      ? value
      : value !== null && typeof value === 'object' && !Array.isArray(value)
        ? (value as Record<string, unknown>).url
        : undefined;
  if (typeof url === 'string' && /^data:/i.test(url)) return;
  ctx.addIssue({
    code: 'custom',
    path: typeof value === 'string' ? ['image_url'] : ['image_url', 'url'],
    message:
      'an image_url part may carry only a data: URL ("data:image/png;base64,<bytes>"); the model server would fetch any other URL itself, so put the image\'s bytes in the URL',
  });
});

const messageSchema = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  // A string, or content parts (text, images) passed through as the server expects them.
  content: z.union([z.string(), z.array(contentPart)]),
  name: z.string().optional(),
  tool_call_id: z.string().optional(),
});

export const chatInputSchema = z
  .object({
    messages: z.array(messageSchema).min(1).optional(),
    /** Shorthand for one user message. */
    prompt: z.string().optional(),
    /** A system message put first. */
    system: z.string().optional(),
    temperature: z.number().min(0).max(2).optional(),
    max_tokens: z.int().min(1).optional(),
    seed: z.int().optional(),
    response_format: z.record(z.string(), z.unknown()).optional(),
    /** Parse the reply as JSON into `output.json`. */
    json: z.boolean().optional(),
  })
  .refine((input) => (input.messages === undefined) !== (input.prompt === undefined), {
    error: 'give either messages ([{ role, content }]) or prompt (a string), not both',
  });

export type ChatInput = z.output<typeof chatInputSchema>;

export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
}

export interface ChatOutput {
  text: string;
  finish_reason: string | null;
  /** Absent when the server reports no usage. */
  usage?: ChatUsage;
  json?: unknown;
  /** The server's `system_fingerprint` (its backend configuration), when it reports one. */
  system_fingerprint?: string;
}

export interface ChatReply {
  output: ChatOutput;
  /** The `model` the server reported, and its `system_fingerprint` if it sent one. */
  model: string | undefined;
  fingerprint: string | undefined;
}

export function chatRequest(input: ChatInput, upstream: string): Record<string, unknown> {
  const messages = [
    ...(input.system === undefined ? [] : [{ role: 'system', content: input.system }]),
    ...(input.messages ?? [{ role: 'user', content: input.prompt! }]),
  ];
  return {
    model: upstream,
    messages,
    stream: true,
    stream_options: { include_usage: true },
    ...(input.temperature !== undefined && { temperature: input.temperature }),
    ...(input.max_tokens !== undefined && { max_tokens: input.max_tokens }),
    ...(input.seed !== undefined && { seed: input.seed }),
    ...(input.response_format !== undefined && { response_format: input.response_format }),
  };
}

/** Runs a chat completion, streamed, and assembles the reply. */
export async function chat(
  config: ResolvedOpenAiConfig,
  input: ChatInput,
  upstream: string,
  job: { signal: AbortSignal; deadlineAt: number },
): Promise<ChatReply> {
  const server = describeServer(config.apiRoot);
  const reply = await postJson(
    {
      config,
      path: '/chat/completions',
      body: chatRequest(input, upstream),
      signal: job.signal,
      deadlineAt: job.deadlineAt,
    },
    (response) =>
      // A server that ignores `stream` answers with one JSON completion: take it as it is.
      (response.headers.get('content-type') ?? '').includes('application/json')
        ? readCompletion(response, server)
        : readStream(response, server),
  );
  if (input.json === true) {
    try {
      reply.output.json = JSON.parse(stripFence(reply.output.text)) as unknown;
    } catch (error) {
      throw new ExecutorError(
        'invalid_output',
        `the model's reply is not JSON (json: true was asked): ${(error as Error).message}`,
        {
          retryable: false,
          cause: error,
        },
      );
    }
  }
  return reply;
}

async function readStream(response: Response, server: string): Promise<ChatReply> {
  if (!response.body)
    throw new ExecutorError('truncated', `the model server at ${server} sent no response body`, { retryable: true });
  let text = '';
  let finishReason: string | null = null;
  let usage: ChatUsage | undefined;
  let model: string | undefined;
  let fingerprint: string | undefined;
  for await (const data of sseEvents(response.body)) {
    if (data.trim() === '[DONE]') {
      // Leaving the loop cancels the body: what a server sends after [DONE] is not read.
      return { output: { text, finish_reason: finishReason, ...(usage && { usage }) }, model, fingerprint };
    }
    const chunk = record(parseJson(data, server));
    const error = chunk?.error;
    if (error !== undefined) {
      const inner = record(error)?.message;
      const message = typeof error === 'string' ? error : typeof inner === 'string' ? inner : JSON.stringify(error);
      throw new ExecutorError(
        'upstream_unavailable',
        `the model server at ${server} failed while streaming: ${message.slice(0, 500)}`,
        { retryable: true },
      );
    }
    if (!chunk) continue;
    if (typeof chunk.model === 'string' && chunk.model !== '') model = chunk.model;
    if (typeof chunk.system_fingerprint === 'string' && chunk.system_fingerprint !== '')
      fingerprint = chunk.system_fingerprint;
    usage = readUsage(chunk.usage) ?? usage;
    const choice = firstChoice(chunk.choices);
    if (!choice) continue;
    const content = record(choice.delta)?.content;
    if (typeof content === 'string') text += content;
    if (typeof choice.finish_reason === 'string') finishReason = choice.finish_reason;
  }
  throw new ExecutorError(
    'truncated',
    `the stream from the model server at ${server} ended before [DONE] (after ${text.length} characters)`,
    { retryable: true },
  );
}

async function readCompletion(response: Response, server: string): Promise<ChatReply> {
  const body = record(parseJson(await response.text(), server));
  const choice = firstChoice(body?.choices);
  const content = record(choice?.message)?.content;
  if (!body || !choice || typeof content !== 'string') {
    throw new ExecutorError(
      'invalid_response',
      `the model server at ${server} sent a completion without choices[0].message.content`,
      { retryable: true },
    );
  }
  const usage = readUsage(body.usage);
  return {
    output: {
      text: content,
      finish_reason: typeof choice.finish_reason === 'string' ? choice.finish_reason : null,
      ...(usage && { usage }),
    },
    model: typeof body.model === 'string' && body.model !== '' ? body.model : undefined,
    fingerprint:
      typeof body.system_fingerprint === 'string' && body.system_fingerprint !== ''
        ? body.system_fingerprint
        : undefined,
  };
}

function parseJson(text: string, server: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ExecutorError(
      'invalid_response',
      `the model server at ${server} sent data that is not JSON: ${text.slice(0, 200)}`,
      { retryable: true },
    );
  }
}

const record = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

function firstChoice(choices: unknown): Record<string, unknown> | undefined {
  if (!Array.isArray(choices)) return undefined;
  return record(choices.find((c) => record(c)?.index === 0 || record(c)?.index === undefined));
}

const tokens = (v: unknown): number | undefined =>
  Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : undefined;

export function readUsage(value: unknown): ChatUsage | undefined {
  const usage = record(value);
  const prompt = tokens(usage?.prompt_tokens);
  if (prompt === undefined) return undefined;
  return { prompt_tokens: prompt, completion_tokens: tokens(usage?.completion_tokens) ?? 0 };
}

/** Models asked for JSON often wrap it in a Markdown fence anyway. */
function stripFence(text: string): string {
  const match = /^\s*```(?:json)?\s*\n([\s\S]*?)\n?```\s*$/.exec(text);
  return match ? match[1]! : text;
}
