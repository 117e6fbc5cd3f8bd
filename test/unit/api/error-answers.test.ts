import { describe, expect, it } from 'vitest';
import { ApiError, clientError, ERROR_ANSWERS, type ErrorAnswers } from '../../../src/api/errors.js';
import { BlobError } from '../../../src/blobs/errors.js';
import { EngineError } from '../../../src/engine/errors.js';
import { ExecutorError } from '../../../src/executors/executor.js';
import { StoreError } from '../../../src/store/errors.js';

describe('the answers to error codes', () => {
  it('is a map that must name every code: one left out does not compile', () => {
    const { invalid_state: _, ...rest } = ERROR_ANSWERS;
    // @ts-expect-error invalid_state has no answer
    const incomplete: ErrorAnswers = rest;
    expect(Object.keys(incomplete)).not.toContain('invalid_state');
    // @ts-expect-error a code no part throws has no place in the map
    const extra: ErrorAnswers = { ...ERROR_ANSWERS, no_such_code: 'internal' };
    expect(extra).toBeDefined();
  });

  it("answers a part's code with its status, and the server's faults with nothing (a 500)", () => {
    expect(clientError(new EngineError('execution_not_found', 'no execution x'))).toEqual({
      status: 404,
      body: { error: { code: 'not_found', message: 'no execution x' } },
    });
    expect(clientError(new StoreError('conflict', 'taken'))?.status).toBe(409);
    expect(clientError(new StoreError('unavailable', 'down'))).toBeUndefined();
    expect(clientError(new BlobError('not_found', 'gone'))).toBeUndefined();
    expect(clientError(new ApiError('rate_limited', 'slow down'))?.status).toBe(429);
  });

  it("answers a code from outside the parts (an executor's own, a prototype's key) with nothing", () => {
    expect(clientError(new ExecutorError('constructor', 'odd'))).toBeUndefined();
    expect(clientError(new ExecutorError('rate_limit', 'upstream'))).toBeUndefined();
    expect(clientError(new Error('plain'))).toBeUndefined();
  });
});
