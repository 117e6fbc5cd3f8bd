import { v7 } from 'uuid';
import { describe, expect, it } from 'vitest';
import type { ExecutionRecord } from '../../../src/store/records.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { T0, execution, hex, newId, rawQuery, seed, seedOne, useStore, workflow } from './fixtures.js';

const OPTIONAL: (keyof ExecutionRecord)[] = ['result', 'resultDigest', 'error', 'idempotencyKey', 'finishedAt'];

/** Inputs that a lossy round trip would change: nesting, unicode, large integers, edge values. */
const TRICKY_INPUTS = {
  text: 'héllo wörld — 你好 — 🚀👩‍👩‍👧 — "quotes" \\ back\\slash \n\t tab',
  nested: { deep: { deeper: { list: [1, 'two', { three: [3, null, true, false] }], empty: {}, none: [] } } },
  big: Number.MAX_SAFE_INTEGER,
  negative: -(2 ** 52) - 7,
  float: 0.1 + 0.2,
  tiny: 5e-324,
  nul: 'a\u0000b',
  nothing: null,
  'key with spaces and ✓': 'ok',
};

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`store executions (${kind})`, () => {
    const h = useStore(kind, 'executions');

    it('round-trips every field, JSON inputs included', async () => {
      const wf = workflow();
      const full = execution(wf, {
        clientId: 'client-ü',
        status: 'failed',
        inputs: TRICKY_INPUTS,
        result: { summary: 'done ✓', counts: [Number.MAX_SAFE_INTEGER, 0, -1] },
        resultDigest: hex('result'),
        error: {
          code: 'step_failed',
          message: 'step "summary" failed: 💥',
          retryable: false,
          stepId: 'summary',
          details: { workers: ['w1', 'w2'], n: 2 },
        },
        budget: 9_000_000_000_000,
        spent: 2 ** 53 - 1,
        reserved: 17,
        idempotencyKey: 'key-1',
        createdAt: T0 + 1,
        startedAt: T0 + 2,
        deadlineAt: T0 + 3,
        finishedAt: T0 + 4,
        updatedAt: T0 + 5,
      });
      await h.store.transaction(async (tx) => {
        await tx.putWorkflow(wf);
        await tx.insertExecution(full);
        // Inside the transaction the writer sees its own row.
        expect(await tx.getExecution(full.id)).toStrictEqual(full);
      });
      expect(await h.store.read.getExecution(full.id)).toStrictEqual(full);
      expect(await h.store.read.getExecution(newId())).toBeUndefined();
    });

    it('optional fields left out come back absent, not null', async () => {
      const exec = await seedOne(h.store);
      const got = await h.store.read.getExecution(exec.id);
      expect(got).toStrictEqual(exec);
      for (const field of OPTIONAL) expect(Object.hasOwn(got!, field), field).toBe(false);
    });

    it('a JSON null result is kept as null, unlike an absent one', async () => {
      const exec = await seedOne(h.store, { result: null });
      const got = await h.store.read.getExecution(exec.id);
      expect(Object.hasOwn(got!, 'result')).toBe(true);
      expect(got!.result).toBeNull();
    });

    it('updateExecution sets the given fields, clears fields set to undefined and leaves the rest', async () => {
      const exec = await seedOne(h.store, { idempotencyKey: 'k' });
      const finished = {
        status: 'completed',
        result: { a: [1, { b: 'ü' }] },
        resultDigest: hex('r'),
        finishedAt: T0 + 9,
        updatedAt: T0 + 9,
      } as const;
      await h.store.transaction((tx) => tx.updateExecution(exec.id, finished));
      expect(await h.store.read.getExecution(exec.id)).toStrictEqual({ ...exec, ...finished });

      await h.store.transaction((tx) =>
        tx.updateExecution(exec.id, {
          status: 'running',
          result: undefined,
          resultDigest: undefined,
          finishedAt: undefined,
          idempotencyKey: undefined,
        }),
      );
      const got = await h.store.read.getExecution(exec.id);
      const { idempotencyKey: _cleared, ...unkeyed } = exec;
      expect(got).toStrictEqual({ ...unkeyed, updatedAt: T0 + 9 });
      for (const field of OPTIONAL) expect(Object.hasOwn(got!, field), field).toBe(false);
    });

    it('listExecutions filters by status, workflow and client, newest first, with limit and before', async () => {
      const wfA = workflow();
      const wfB = workflow({ definition: { ...wfA.definition, id: 'other' }, workflowId: 'other' });
      const e = [
        execution(wfA, { clientId: 'c1', status: 'running' }),
        execution(wfB, { clientId: 'c2', status: 'completed' }),
        execution(wfA, { clientId: 'c2', status: 'failed' }),
        execution(wfB, { clientId: 'c1', status: 'running' }),
        execution(wfA, { clientId: 'c1', status: 'completed' }),
      ];
      await h.store.transaction(async (tx) => {
        await tx.putWorkflow(wfA);
        await tx.putWorkflow(wfB);
        // Inserted out of order: the listing order must come from the ids, not from insertion.
        for (const i of [3, 0, 4, 1, 2]) await tx.insertExecution(e[i]!);
      });
      const ids = async (filter: Parameters<typeof h.store.read.listExecutions>[0]) =>
        (await h.store.read.listExecutions(filter)).map((x) => x.id);
      const [e0, e1, e2, e3, e4] = e.map((x) => x.id) as [string, string, string, string, string];

      expect(await ids({})).toEqual([e4, e3, e2, e1, e0]);
      expect(await h.store.read.listExecutions({ limit: 1 })).toStrictEqual([e[4]]);
      expect(await ids({ status: ['running'] })).toEqual([e3, e0]);
      expect(await ids({ status: ['completed', 'failed'] })).toEqual([e4, e2, e1]);
      expect(await ids({ status: ['timed_out'] })).toEqual([]);
      expect(await ids({ workflowId: 'other' })).toEqual([e3, e1]);
      expect(await ids({ clientId: 'c1' })).toEqual([e4, e3, e0]);
      expect(await ids({ clientId: 'c1', workflowId: wfA.workflowId, status: ['running'] })).toEqual([e0]);
      expect(await ids({ before: e3 })).toEqual([e2, e1, e0]);
      expect(await ids({ before: e3, limit: 2 })).toEqual([e2, e1]);
      expect(await ids({ before: e0 })).toEqual([]);
      expect(await ids({ clientId: 'c2', before: e2 })).toEqual([e1]);
    });

    it('findExecutionIds finds ids by prefix, in id order, up to the limit', async () => {
      const at = (msecs: number) => v7({ msecs });
      // Ids are made so that their first eight characters are chosen: 01901111-…, 01901112-….
      const a1 = at(0x0190_1111_0001);
      const a2 = at(0x0190_1111_0002);
      const a3 = at(0x0190_1111_0003);
      const b1 = at(0x0190_1112_0001);
      await seed(h.store, { id: a3 }, { id: b1 }, { id: a1 }, { id: a2 });

      expect(await h.store.read.findExecutionIds('01901111', 10)).toEqual([a1, a2, a3]);
      expect(await h.store.read.findExecutionIds('01901111', 2)).toEqual([a1, a2]);
      expect(await h.store.read.findExecutionIds('01901111-0002', 10)).toEqual([a2]);
      expect(await h.store.read.findExecutionIds('0190111', 10)).toEqual([a1, a2, a3, b1]);
      expect(await h.store.read.findExecutionIds(a2, 10)).toEqual([a2]);
      expect(await h.store.read.findExecutionIds('01901113', 10)).toEqual([]);
      expect(await h.store.read.findExecutionIds('f', 10)).toEqual([]);
    });

    it.runIf(kind === 'postgres')('findExecutionIds works under a linguistic collation (PostgreSQL)', async (ctx) => {
      // Many PostgreSQL installations default to a linguistic collation (the official image uses en_US.utf8);
      // there, punctuation and symbols sort before digits, unlike in the C collation this server uses.
      const icu = await rawQuery(h.backend, "SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu'");
      if (icu.length === 0) ctx.skip();
      const a1 = v7({ msecs: 0x0190_2222_0001 });
      const b1 = v7({ msecs: 0x0190_2223_0001 });
      await seed(h.store, { id: a1 }, { id: b1 });
      await rawQuery(h.backend, 'ALTER TABLE executions ALTER COLUMN id TYPE TEXT COLLATE "und-x-icu"');
      expect(await h.store.read.findExecutionIds('01902222', 10)).toEqual([a1]);
      expect(await h.store.read.findExecutionIds('0190222', 10)).toEqual([a1, b1]);
      expect(await h.store.read.findExecutionIds('01902222-0001', 10)).toEqual([a1]);
      expect((await h.store.read.listExecutions({})).map((x) => x.id)).toEqual([b1, a1]);
    });

    it('findExecutionByIdempotencyKey matches client and key together', async () => {
      const [keyed] = await seed(
        h.store,
        { clientId: 'c1', idempotencyKey: 'k1' },
        { clientId: 'c1' },
        { clientId: 'c2', idempotencyKey: 'k2' },
      );
      expect(await h.store.read.findExecutionByIdempotencyKey('c1', 'k1')).toStrictEqual(keyed);
      expect(await h.store.read.findExecutionByIdempotencyKey('c2', 'k1')).toBeUndefined();
      expect(await h.store.read.findExecutionByIdempotencyKey('c1', 'k2')).toBeUndefined();
    });

    it('the (client, idempotency key) unique index rejects a duplicate and rolls its transaction back', async () => {
      const first = await seedOne(h.store, { clientId: 'c1', idempotencyKey: 'k' });
      const wf = (await h.store.read.getWorkflow(first.workflowDigest))!;
      const duplicate = execution(wf, { clientId: 'c1', idempotencyKey: 'k' });
      const bystander = execution(wf, { clientId: 'c1' });
      await expect(
        h.store.transaction(async (tx) => {
          await tx.insertExecution(bystander);
          await tx.insertExecution(duplicate);
        }),
      ).rejects.toThrow();
      expect(await h.store.read.getExecution(duplicate.id)).toBeUndefined();
      expect(await h.store.read.getExecution(bystander.id)).toBeUndefined();
      expect(await h.store.read.findExecutionByIdempotencyKey('c1', 'k')).toStrictEqual(first);

      // The same key for another client, and any number of executions without a key, are fine.
      await h.store.transaction(async (tx) => {
        await tx.insertExecution(execution(wf, { clientId: 'c2', idempotencyKey: 'k' }));
        await tx.insertExecution(execution(wf, { clientId: 'c1' }));
        await tx.insertExecution(execution(wf, { clientId: 'c1' }));
      });
      expect(await h.store.read.listExecutions({ clientId: 'c1' })).toHaveLength(3);
    });

    it('listExecutionIdsPastDeadline returns running executions whose deadline passed, earliest first', async () => {
      const now = T0 + 10_000;
      const [late, due, , , later] = await seed(
        h.store,
        { status: 'running', deadlineAt: now - 500 },
        { status: 'running', deadlineAt: now },
        { status: 'running', deadlineAt: now + 1 },
        { status: 'completed', deadlineAt: now - 1_000 },
        { status: 'running', deadlineAt: now - 100 },
      );
      expect(await h.store.read.listExecutionIdsPastDeadline(now, 10)).toEqual([late!.id, later!.id, due!.id]);
      expect(await h.store.read.listExecutionIdsPastDeadline(now, 2)).toEqual([late!.id, later!.id]);
      expect(await h.store.read.listExecutionIdsPastDeadline(now - 1_000, 10)).toEqual([]);
    });
  });
}
