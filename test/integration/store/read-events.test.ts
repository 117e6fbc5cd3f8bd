import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { StoreError } from '../../../src/store/errors.js';
import { EVENT_LOCK_SPACE, eventLockKey } from '../../../src/store/postgres/postgres-store.js';
import type { EventAt, NewEvent } from '../../../src/store/records.js';
import type { Store } from '../../../src/store/store.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import type { BackendFixture } from '../../support/backends.js';
import { T0, seedOne, sleep, useStore } from './fixtures.js';

/**
 * readEvents is what the event stream and the history route page with: a reader that resumes from the last
 * cursor it saw must get every event exactly once, in commit order, even when the transactions that wrote
 * them commit in another order than they began (PostgreSQL hands out seq at insert, not at commit).
 */

const event = (executionId: string, type: string, at = T0): NewEvent => ({ executionId, at, type, actor: 'test' });

/** Everything readable after `cursor`, page by page. */
async function readAll(
  store: Store,
  executionId: string,
  cursor: string | undefined,
  limit = 1000,
): Promise<EventAt[]> {
  const out: EventAt[] = [];
  for (;;) {
    const page = await store.read.readEvents(executionId, cursor, limit);
    out.push(...page);
    if (page.length < limit) return out;
    cursor = page.at(-1)!.cursor;
  }
}

/** A gate a test opens by hand: lets it hold a transaction open at a chosen point. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`readEvents (${kind})`, () => {
    const h = useStore(kind, 'read_events');

    it('pages through every event in commit order, and a resumed read gives exactly the rest', async () => {
      const exec = await seedOne(h.store);
      const other = await seedOne(h.store);
      const types: string[] = [];
      for (let tx = 0; tx < 5; tx++) {
        const batch = [0, 1, 2].map((i) => event(exec.id, `e${tx}.${i}`));
        types.push(...batch.map((e) => e.type));
        // Another execution's events interleave in the table and must not show up.
        await h.store.transaction((t) => {
          t.appendEvents([...batch, event(other.id, 'other')]);
          return Promise.resolve();
        });
      }
      const all = await readAll(h.store, exec.id, undefined);
      expect(all.map((e) => e.event.type)).toEqual(types);
      expect(new Set(all.map((e) => e.cursor)).size).toBe(all.length);
      // Small pages and every possible resume point give the same list.
      expect((await readAll(h.store, exec.id, undefined, 4)).map((e) => e.cursor)).toEqual(all.map((e) => e.cursor));
      for (let k = 0; k <= all.length; k++) {
        const rest = await readAll(h.store, exec.id, k === 0 ? undefined : all[k - 1]!.cursor, 3);
        expect(rest.map((e) => e.event.type)).toEqual(types.slice(k));
      }
      // Within one execution the store's seq order and the cursor order agree.
      expect((await h.store.read.listEvents(exec.id, 0, 1000)).map((e) => e.seq)).toEqual(all.map((e) => e.event.seq));
    });

    it('refuses a cursor it did not give out', async () => {
      const exec = await seedOne(h.store);
      for (const bad of ['x', '-1', '1e3', '1.2.3', ' 1', '']) {
        const error = await h.store.read.readEvents(exec.id, bad, 10).catch((e: unknown) => e);
        expect(error, `cursor ${JSON.stringify(bad)}`).toBeInstanceOf(StoreError);
        expect(error).toMatchObject({ code: 'invalid_cursor' });
      }
    });

    it('a reader polling while many transactions write never skips or repeats an event', async () => {
      const exec = await seedOne(h.store);
      const writers = 12;
      let writing = true;
      const seen: EventAt[] = [];
      const reader = (async () => {
        let cursor: string | undefined;
        // One more read after the writers are done picks up what the last of them committed.
        for (let last = false; ;) {
          const page = await h.store.read.readEvents(exec.id, cursor, 1000);
          seen.push(...page);
          if (page.length > 0) cursor = page.at(-1)!.cursor;
          if (last) return;
          if (!writing) last = true;
          await sleep(2);
        }
      })();
      await Promise.all(
        Array.from({ length: writers }, (_, w) =>
          h.store.transaction(async (tx) => {
            // A write first (the transaction is under way, with row locks and a transaction id), then a random
            // pause, so that they commit in another order than they began.
            await tx.putKey({ keyId: `k${w}`, role: 'worker', publicKeyPem: `pem ${w}`, createdAt: T0 });
            await sleep(Math.floor(Math.random() * 40));
            tx.appendEvents([event(exec.id, `w${w}.a`), event(exec.id, `w${w}.b`)]);
          }),
        ),
      );
      writing = false;
      await reader;
      const stored = await readAll(h.store, exec.id, undefined);
      expect(stored).toHaveLength(writers * 2);
      expect(seen.map((e) => e.cursor)).toEqual(stored.map((e) => e.cursor));
      // Each transaction's events stay together and in append order, and seq order is the read order.
      expect(seen.map((e) => e.event.seq)).toEqual([...seen.map((e) => e.event.seq)].sort((a, b) => a - b));
      const types = seen.map((e) => e.event.type);
      for (let i = 0; i < types.length; i += 2) expect(types[i + 1]).toBe(types[i]!.replace('.a', '.b'));
    });
  });
}

/** A raw connection to the test's schema: a transaction the store does not run, to interleave with its own. */
async function rawClient(backend: BackendFixture): Promise<pg.Client> {
  const url = new URL(backend.databaseUrl!);
  const schema = url.searchParams.get('schema')!;
  url.searchParams.delete('schema');
  const client = new pg.Client({ connectionString: url.toString(), options: `-c search_path=${schema}` });
  await client.connect();
  return client;
}

describe.skipIf(!(await backendAvailable('postgres')))(
  'readEvents with transactions committing out of order (postgres)',
  () => {
    const h = useStore('postgres', 'read_events_order');

    it('a transaction that began first but commits last is not skipped by a reader that read in between', async () => {
      const exec = await seedOne(h.store);
      const hold = gate();
      const locked = gate();
      // T1 locks the execution (and so holds a transaction id), then waits before writing its event.
      const t1 = h.store.transaction(async (tx) => {
        await tx.lockExecution(exec.id);
        locked.open();
        await hold.wait;
        tx.appendEvents([event(exec.id, 't1')]);
      });
      await locked.wait;
      // T2 begins later and commits first.
      await h.store.transaction((tx) => {
        tx.appendEvents([event(exec.id, 't2')]);
        return Promise.resolve();
      });
      const before = await readAll(h.store, exec.id, undefined);
      hold.open();
      await t1;
      const after = await readAll(h.store, exec.id, before.at(-1)?.cursor);
      expect([...before, ...after].map((e) => e.event.type)).toEqual(['t2', 't1']);
      expect((await readAll(h.store, exec.id, undefined)).map((e) => e.event.type)).toEqual(['t2', 't1']);
    });

    it("an execution's events inserted first (lower seq) by a transaction not yet committed hold back the next writer, so none is skipped", async () => {
      const exec = await seedOne(h.store);
      // T1 does what the store does before it commits: takes the execution's event lock, inserts, and then
      // (unlike the store) waits before COMMIT, to widen the window a reader could otherwise fall into.
      const t1 = await rawClient(h.backend);
      try {
        await t1.query('BEGIN');
        await t1.query('SELECT pg_advisory_xact_lock($1, $2)', [EVENT_LOCK_SPACE, eventLockKey(exec.id)]);
        const inserted = await t1.query<{ seq: string }>(
          "INSERT INTO events (execution_id, at, type, actor) VALUES ($1, $2, 't1', 'test') RETURNING seq",
          [exec.id, T0],
        );
        let t2Done = false;
        const t2 = h.store
          .transaction((tx) => {
            tx.appendEvents([event(exec.id, 't2')]);
            return Promise.resolve();
          })
          .then(() => (t2Done = true));
        await sleep(300);
        // T2 waits for T1 instead of committing a higher seq that a reader could pass T1's event with.
        expect(t2Done).toBe(false);
        const before = await readAll(h.store, exec.id, undefined);
        expect(before).toEqual([]);
        await t1.query('COMMIT');
        await t2;
        const read = await readAll(h.store, exec.id, undefined);
        expect(read.map((e) => e.event.type)).toEqual(['t1', 't2']);
        expect(read[0]!.event.seq).toBe(Number(inserted.rows[0]!.seq));
        expect(read[1]!.event.seq).toBeGreaterThan(read[0]!.event.seq);
      } finally {
        await t1.end();
      }
    });

    it('events of different executions do not wait for each other', async () => {
      const exec = await seedOne(h.store);
      const other = await seedOne(h.store);
      const t1 = await rawClient(h.backend);
      try {
        await t1.query('BEGIN');
        await t1.query('SELECT pg_advisory_xact_lock($1, $2)', [EVENT_LOCK_SPACE, eventLockKey(exec.id)]);
        // The other execution's writer goes through while the first execution's event lock is held.
        await h.store.transaction((tx) => {
          tx.appendEvents([event(other.id, 'free')]);
          return Promise.resolve();
        });
        expect((await readAll(h.store, other.id, undefined)).map((e) => e.event.type)).toEqual(['free']);
      } finally {
        await t1.query('ROLLBACK');
        await t1.end();
      }
    });

    it('a long transaction elsewhere in the database does not hold readers back', async () => {
      const exec = await seedOne(h.store);
      const other = await rawClient(h.backend);
      try {
        await other.query('BEGIN');
        // An outside transaction with an id, older than everything below and still open.
        await other.query('SELECT pg_current_xact_id()');
        await h.store.transaction((tx) => {
          tx.appendEvents([event(exec.id, 'a'), event(exec.id, 'b')]);
          return Promise.resolve();
        });
        expect((await readAll(h.store, exec.id, undefined)).map((e) => e.event.type)).toEqual(['a', 'b']);
      } finally {
        await other.query('ROLLBACK');
        await other.end();
      }
    });
  },
);
