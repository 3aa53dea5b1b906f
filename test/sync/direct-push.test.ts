/**
 * The one-statement push (src/sync/direct-push.ts): one record event, or one run of adds, for one
 * budget, written by one statement outside any explicit transaction. These pin that it writes
 * exactly what it reports (the events handed to the hub are the log's, byte for byte), and that
 * whenever its snapshot could be out of date — a change committed while it waited for the budget's
 * lock — or a check fails, it writes nothing and the batch is answered by the transaction path.
 */
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { readStream } from '../../src/sync/reads.js';
import { ev } from '../helpers/api.js';
import { type Ctx, head, observed, setup, whileLocked, writeState } from './fixtures/support.js';

t.test('each record event alone is one statement, and the events handed over are the log', async (t) => {
  const ctx = await setup(t);
  const budgetId = await ctx.api.createBudget('owner');
  const h = await head(ctx, budgetId);
  const p = observed(ctx);
  const cat = ev.categoryAdd(budgetId);
  const exp = ev.expenseAdd(budgetId, cat.recordId, { note: 'n' });
  const exp2 = ev.expenseAdd(budgetId, cat.recordId);
  const results = [];
  for (const e of [
    cat,
    exp,
    ev.edit('expense.edit', budgetId, exp.recordId, 1, { amount: '9.99', note: null }),
    ev.edit('category.edit', budgetId, cat.recordId, 1, { name: 'Rent' }),
    exp2,
    ev.del('expense.delete', budgetId, exp.recordId, 2),
    ev.del('category.delete', budgetId, cat.recordId, 2), // takes exp2 with it
  ]) {
    results.push(...(await p.push([e], 'owner')));
  }
  t.same(p.paths, Array(7).fill('direct'));
  t.same(
    results.map((r) => [r.status, r.sequence]),
    Array.from({ length: 7 }, (_, i) => ['accepted', h + 1 + i]),
  );
  t.equal(await head(ctx, budgetId), h + 7, 'each statement wrote the head');
  const log = await readStream(ctx.sql, budgetId, h, 100);
  t.equal(JSON.stringify(p.handed), JSON.stringify(log), 'the events handed over, byte for byte');
  t.same(
    results.map((r) => r.record ?? null),
    log.map((e) => e.record),
    'each result carries the record its log row holds',
  );
  t.match(results[2]?.record, { amount: '9.99', note: null, version: 2 });
  t.same(log[6]?.cascade, { expenseIds: [exp2.recordId] }, 'the category.delete names the expense it took');
});

t.test('a run of adds is one statement; a taken id makes it write nothing', async (t) => {
  const ctx = await setup(t);
  const [a, b] = [await ctx.api.createBudget('owner'), await ctx.api.createBudget('owner')];
  const [catA, catB] = [ev.categoryAdd(a), ev.categoryAdd(b)];
  const p = observed(ctx);
  await p.push([catA, ev.categoryAdd(a)], 'owner');
  await p.push([catB], 'owner');
  const taken = ev.expenseAdd(a, catA.recordId);
  await p.push([taken], 'owner');
  t.same(p.paths, ['direct', 'direct', 'direct']);

  const h = await head(ctx, b);
  const before = await writeState(ctx.sql);
  // The second add reuses an expense id of budget A: one INSERT of the run fails, so none is kept.
  const run = [
    ev.expenseAdd(b, catB.recordId),
    { ...ev.expenseAdd(b, catB.recordId), recordId: taken.recordId },
    ev.expenseAdd(b, catB.recordId),
  ];
  const results = await p.push(run, 'owner');
  t.same(p.paths.slice(3), ['direct-missed', 'sequential']);
  t.same(
    results.map((r) => [r.status, r.error?.code]),
    [
      ['accepted', undefined],
      ['rejected', 'RECORD_EXISTS'],
      ['skipped', undefined],
    ],
  );
  const after = await writeState(ctx.sql);
  t.same([after.events - before.events, after.expenses - before.expenses], [1, 1], 'the first add, once');
  t.same(
    (await readStream(ctx.sql, b, 0, 100)).map((e) => e.sequence),
    Array.from({ length: h + 1 }, (_, i) => i + 1),
    'the log is gap-free',
  );
});

t.test('refusals write nothing and are answered by the transaction path', async (t) => {
  const ctx = await setup(t);
  const budgetId = await ctx.api.createBudget('owner');
  const cat = ev.categoryAdd(budgetId);
  const p = observed(ctx);
  await p.push([cat], 'owner');
  const before = await writeState(ctx.sql);
  const [stranger] = await p.push([ev.categoryAdd(budgetId)], 'stranger');
  const [missing] = await p.push([ev.categoryAdd(randomUUID())], 'owner');
  const [orphans] = await p.push([ev.expenseAdd(budgetId, cat.recordId), ev.expenseAdd(budgetId, randomUUID())], 'owner', 'independent');
  t.same(p.paths, ['direct', ...Array(3).fill(['direct-missed', 'sequential']).flat()]);
  t.match(stranger, { status: 'rejected', error: { code: 'NOT_PARTICIPANT' } });
  t.match(missing, { status: 'rejected', error: { code: 'BUDGET_NOT_FOUND' } });
  t.match(orphans, { status: 'accepted' }, 'a run of expenses checks every category before writing any');
  t.same((await writeState(ctx.sql)).events - before.events, 1);
});

/** What the server's writers do besides their change: the next log row and the head. */
async function appendLogRow(tx: Ctx['sql'], budgetId: string, eventType: string, recordId: string): Promise<void> {
  await tx`
    WITH h AS (UPDATE budgets SET last_sequence = last_sequence + 1 WHERE id = ${budgetId} RETURNING last_sequence)
    INSERT INTO events (budget_id, sequence, event_id, event_type, record_id, actor_id, client_when, server_time, version, record, fingerprint)
    SELECT ${budgetId}, h.last_sequence, ${randomUUID()}, ${eventType}, ${recordId}, 'owner', 0, 0, 2, NULL, 'holder' FROM h`;
}

t.test('a change committed while the statement waits for the lock is seen', async (t) => {
  const ctx = await setup(t);
  const budgetId = await ctx.api.createBudget('owner');
  const [cat, other] = [ev.categoryAdd(budgetId), ev.categoryAdd(budgetId)];
  await ctx.api.push('owner', [cat, other]);

  // The category is deleted meanwhile: the expense is refused, nothing written.
  let p = observed(ctx);
  const h = await head(ctx, budgetId);
  const [refused] = await whileLocked(
    ctx.sql,
    budgetId,
    async (tx) => {
      await tx`UPDATE categories SET deleted = true, version = 2 WHERE id = ${cat.recordId}`;
      await appendLogRow(tx, budgetId, 'category.delete', cat.recordId);
    },
    () => p.push([ev.expenseAdd(budgetId, cat.recordId)], 'owner'),
  );
  t.same(p.paths, ['direct-missed', 'sequential']);
  t.match(refused, { status: 'rejected', error: { code: 'CATEGORY_NOT_FOUND' } });
  t.equal(await head(ctx, budgetId), h + 1, "only the holder's event");

  // Another change meanwhile: accepted after it.
  p = observed(ctx);
  const [after] = await whileLocked(
    ctx.sql,
    budgetId,
    (tx) => appendLogRow(tx, budgetId, 'category.edit', other.recordId),
    () => p.push([ev.expenseAdd(budgetId, other.recordId)], 'owner'),
  );
  t.same(p.paths, ['direct-missed', 'sequential']);
  t.match(after, { status: 'accepted', sequence: h + 3 });

  // A holder that wrote nothing leaves the snapshot current: the statement goes through.
  p = observed(ctx);
  const [through] = await whileLocked(
    ctx.sql,
    budgetId,
    async () => {},
    () => p.push([ev.expenseAdd(budgetId, other.recordId)], 'owner'),
  );
  t.same(p.paths, ['direct']);
  t.match(through, { status: 'accepted', sequence: h + 4 });
  t.same(
    (await readStream(ctx.sql, budgetId, 0, 100)).map((e) => e.sequence),
    Array.from({ length: h + 4 }, (_, i) => i + 1),
    'the log is gap-free',
  );
});
