/**
 * The store contract, one suite run against every store the client ships (MemoryStore,
 * IndexedDbStore on fake-indexeddb, SqliteStore on sql.js): the operations, rollback, every
 * transaction one atomic database transaction, state that survives a restart, and — against a real
 * server — unsent edits and a push whose answer was lost surviving a restart, re-sent and answered
 * `duplicate`, never applied twice. (The SQLite store is also killed for real with SIGKILL in
 * store-kill.test.ts; the IndexedDB one reloads in a real browser in test/browser.)
 */
import { randomUUID } from 'node:crypto';
import t from 'tap';
import type { LocalStore } from '../../packages/client/src/index.js';
import type { FetchLike } from '../../packages/client/src/http.js';
import { budget, category, edit, expense, participant } from './fixtures/records.js';
import { STORE_KINDS } from './fixtures/stores.js';
import { type Harness, harness, localState, serverState } from './fixtures/support.js';

/** Everything a store holds, in a comparable form. */
async function dump(store: LocalStore) {
  const out: Record<string, unknown> = { outbox: await store.outbox() };
  for (const b of (await store.budgetIds()).sort()) {
    const layers: Record<string, unknown> = { cursor: await store.getCursor(b) };
    for (const layer of ['server', 'local'] as const) {
      for (const kind of ['budget', 'category', 'expense', 'participant'] as const) {
        layers[`${layer}.${kind}`] = (await store.list(layer, kind, b)).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
      }
    }
    out[b] = layers;
  }
  return out;
}

/** How many events of a type the budget's stream holds (read from the server). */
async function countEvents(h: Harness, uid: string, budgetId: string, eventType: string): Promise<number> {
  const res = await h.api.req('GET', `/events?budgetId=${budgetId}&key=0&count=500&wait=0`, uid);
  return (res.json() as { events: { eventType: string }[] }).events.filter((e) => e.eventType === eventType).length;
}

for (const kind of STORE_KINDS) {
  t.test(kind.name, async (t) => {
    t.test('operations: layers, copies, lists, cursors, the outbox in order, dropping a budget', async (t) => {
      const { store } = await kind.open(t);
      const b = randomUUID();
      const other = randomUUID();
      const c = category(b, randomUUID());
      await store.put('server', 'category', c);
      c.name = 'mutated by the caller';
      t.equal((await store.get('server', 'category', b, c.id))?.name, 'Food', 'the store keeps its own copy');
      const read = await store.get('server', 'category', b, c.id);
      if (read) read.name = 'mutated after reading';
      t.equal((await store.get('server', 'category', b, c.id))?.name, 'Food', 'and hands out copies');
      t.equal(await store.get('local', 'category', b, c.id), undefined, 'layers are separate');
      await store.put('server', 'budget', budget(b));
      await store.put('server', 'participant', participant(b, 'me', 'owner'));
      await store.put('local', 'expense', expense(b, c.id, randomUUID()));
      await store.put('server', 'budget', budget(other));
      t.same(
        (await store.list('server', 'participant', b)).map((p) => p.userId),
        ['me'],
        'participants by userId',
      );
      t.equal((await store.list('server', 'category', b)).length, 1, 'list is per kind');
      t.same(await store.list('server', 'category', randomUUID()), [], 'an unknown budget lists nothing');
      await store.setCursor(b, 4);
      t.equal(await store.getCursor(b), 4);
      t.equal(await store.getCursor(randomUUID()), undefined);
      const e1 = edit(b, 'category.edit', c.id, { version: 1, name: 'x' });
      const e2 = edit(b, 'category.delete', c.id, { version: 1 });
      const e3 = edit(other, 'budget.edit', other, { version: 1, title: 't' });
      await store.saveOutbox({ seq: 1, event: e1 });
      await store.saveOutbox({ seq: 2, event: e2 });
      await store.saveOutbox({ seq: 3, event: e3 });
      await store.saveOutbox({ seq: 1, event: e1, acceptedSequence: 7 });
      t.same(
        (await store.outbox()).map((e) => [e.seq, e.event.eventId, e.acceptedSequence]),
        [
          [1, e1.eventId, 7],
          [2, e2.eventId, undefined],
          [3, e3.eventId, undefined],
        ],
        'replacing an entry keeps its place',
      );
      await store.removeOutbox([e2.eventId]);
      await store.removeOutbox([]);
      t.same(
        (await store.outbox()).map((e) => e.seq),
        [1, 3],
      );
      t.same((await store.budgetIds()).sort(), [b, other].sort());
      await store.clearLayer('server', b);
      t.same(await store.list('server', 'category', b), [], 'clearLayer empties one layer');
      t.equal((await store.list('local', 'expense', b)).length, 1, 'and leaves the other');
      await store.remove('local', 'expense', b, (await store.list('local', 'expense', b))[0]!.id);
      await store.dropBudget(b);
      t.same(await store.budgetIds(), [other], 'dropBudget forgets the budget');
      t.equal(await store.getCursor(b), undefined, 'its cursor');
      t.same(
        (await store.outbox()).map((e) => e.event.eventId),
        [e3.eventId],
        'and its outbox entries, no others',
      );
    });

    t.test('a failed transaction leaves no trace', async (t) => {
      const { store, reopen } = await kind.open(t);
      const b = randomUUID();
      const c = category(b, randomUUID());
      await store.transaction(async () => {
        await store.put('server', 'budget', budget(b));
        await store.put('server', 'category', c);
        await store.setCursor(b, 4);
        await store.saveOutbox({ seq: 1, event: edit(b, 'category.edit', c.id, { version: 1, name: 'x' }) });
      });
      const before = await dump(store);
      await t.rejects(
        store.transaction(async () => {
          await store.put('server', 'category', { ...c, name: 'changed' });
          await store.remove('server', 'budget', b, b);
          await store.setCursor(b, 9);
          await store.saveOutbox({ seq: 2, event: edit(b, 'category.delete', c.id, { version: 1 }) });
          await store.removeOutbox([(await store.outbox())[0]!.event.eventId]);
          await store.clearLayer('server', b);
          await store.put('local', 'budget', budget(randomUUID()));
          await store.dropBudget(b);
          throw new Error('boom');
        }),
        /boom/,
      );
      t.same(await dump(store), before, 'memory as before');
      if (kind.persistent) t.same(await dump(await reopen()), before, 'and the database as before');
    });

    if (kind.persistent) {
      t.test('every transaction is one database transaction: a commit refused part-way leaves nothing', async (t) => {
        const { store, reopen } = await kind.open(t);
        const b = randomUUID();
        await store.transaction(async () => {
          await store.put('server', 'budget', budget(b));
          await store.setCursor(b, 2);
          await store.saveOutbox({ seq: 1, event: edit(b, 'budget.edit', b, { version: 1, title: 'first' }) });
        });
        const before = await dump(store);
        // A second outbox entry with a taken `seq`: the database's unique index refuses it while the
        // rest of the transaction (records, cursor) was already written — all of it must go.
        await t.rejects(
          store.transaction(async () => {
            await store.put('server', 'category', category(b, randomUUID()));
            await store.put('local', 'budget', budget(b, { title: 'changed' }));
            await store.setCursor(b, 3);
            await store.saveOutbox({ seq: 1, event: edit(b, 'budget.delete', b, { version: 1 }) });
          }),
        );
        t.same(await dump(store), before, 'memory rolled back with the database');
        t.same(await dump(await reopen()), before, 'nothing of it reached the database');
        await store.setCursor(b, 5);
        t.equal(await (await reopen()).getCursor(b), 5, 'the store goes on working afterwards');
      });

      t.test('records, cursors and the outbox survive a restart', async (t) => {
        const { store, reopen } = await kind.open(t);
        const b = randomUUID();
        const gone = randomUUID();
        const c = category(b, randomUUID(), { name: 'Rent', allocate: '900.00' });
        await store.transaction(async () => {
          await store.put('server', 'budget', budget(b, { details: 'with "quotes" and ünïcode' }));
          await store.put('local', 'budget', budget(b));
          await store.put('server', 'category', c);
          await store.put('server', 'expense', expense(b, c.id, randomUUID(), { note: null, amount: '12.50' }));
          await store.put('server', 'participant', participant(b, 'me', 'owner'));
          await store.setCursor(b, 12);
          await store.put('server', 'budget', budget(gone));
          await store.setCursor(gone, 3);
        });
        for (let i = 1; i <= 30; i++)
          await store.saveOutbox({ seq: i, event: edit(b, 'category.edit', c.id, { version: i, name: `n${i}` }) });
        const first = (await store.outbox())[0]!;
        await store.saveOutbox({ ...first, acceptedSequence: 13 });
        await store.dropBudget(gone);
        await store.transaction(async () => {
          await store.clearLayer('server', b);
          await store.put('server', 'budget', budget(b, { version: 2 }));
        });
        const before = await dump(store);
        const after = await reopen();
        t.same(await dump(after), before, 'the reopened store holds exactly the same');
        t.same(
          (await after.outbox()).map((e) => e.seq),
          Array.from({ length: 30 }, (_, i) => i + 1),
          'the outbox in order',
        );
        t.equal((await after.outbox())[0]?.acceptedSequence, 13, 'with what the server confirmed');
      });
    }

    t.test('against a server: unsent edits and a lost push answer survive a restart; the re-send is a duplicate', async (t) => {
      const h = await harness(t);
      const { store, reopen } = await kind.open(t);
      const uid = `u-${randomUUID().slice(0, 8)}`;
      const first = h.client(uid, { store });
      await first.start();
      const { budgetId } = await first.createBudget({ title: 'Home' });
      const food = await first.categoryAdd(budgetId, { name: 'Food', allocate: '300' });
      await first.flush();
      await first.stop();
      // Offline: an edit waits in the outbox.
      await first.expenseAdd(budgetId, { categoryId: food.recordId, date: '2025-05-06', amount: '12.50' });
      const cursor = await store.getCursor(budgetId);

      // Restart 1: the budget, its cursor and the unsent edit are there before any network.
      const second = await reopen();
      t.equal(await second.getCursor(budgetId), cursor, 'the cursor');
      t.equal((await second.list('local', 'category', budgetId))[0]?.name, 'Food', 'the records');
      t.same(
        (await second.outbox()).map((e) => e.event.eventType),
        ['expense.add'],
        'the unsent edit',
      );

      // A client that sends it and dies before the answer is written: the server applied it, the
      // answer is lost (this fetch never hands it over), and the client is gone.
      let answered!: () => void;
      const pushAnswered = new Promise<void>((resolve) => (answered = resolve));
      const hang = (signal?: AbortSignal) =>
        new Promise<never>((_, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted'))));
      const dying: FetchLike = async (url, init) => {
        // Only the push gets through: the stream must not confirm the event (it would, a moment later).
        if (!(init.method === 'POST' && new URL(url).pathname === '/events')) return hang(init.signal);
        await fetch(url, init);
        answered();
        return hang(init.signal);
      };
      const doomed = h.client(uid, { store: second, fetch: dying });
      doomed.on('error', () => {});
      await doomed.start();
      await pushAnswered;
      await doomed.stop();
      t.equal(await countEvents(h, uid, budgetId, 'expense.add'), 1, 'the server applied it once');

      // Restart 2: the event is still unconfirmed; it goes again under the same eventId.
      const third = await reopen();
      const pending = await third.outbox();
      t.equal(pending.length, 1, 'still in the outbox');
      t.equal(pending[0]?.acceptedSequence, undefined, 'and not confirmed');
      const gate = { open: false };
      const held: FetchLike = async (url, init) => {
        // Stream reads wait until the push was answered, so the re-send happens (not a confirmation by the stream).
        while (!gate.open && init.method === 'GET' && new URL(url).pathname === '/events') await new Promise((r) => setTimeout(r, 20));
        return fetch(url, init);
      };
      const revived = h.client(uid, { store: third, fetch: held });
      const confirmed = new Promise<string>((resolve) => revived.on('confirmed', ({ status }) => resolve(status)));
      await revived.start();
      t.equal(await confirmed, 'duplicate', 'the server answers duplicate');
      gate.open = true;
      await revived.flush();
      t.equal(await countEvents(h, uid, budgetId, 'expense.add'), 1, 'never a second apply');
      t.same(await localState(revived, budgetId), await serverState(h.api, uid, budgetId), 'device and server agree');
      t.same(await third.outbox(), [], 'the outbox is empty');
    });
  });
}
