/**
 * The Processor hands the hub each commit's stream events so that local subscribers are served
 * without reading them back (src/realtime/hub.ts `fromMemory`). That is only sound if those events
 * are the log's, byte for byte: every event type here, in mixed case ids, refusals between them.
 */
import t from 'tap';
import type { StreamEvent } from '@budget-sync/protocol';
import type { ChangeSink } from '../../src/sync/changes.js';
import { Processor } from '../../src/sync/processor.js';
import { readStream } from '../../src/sync/reads.js';
import { ev } from '../helpers/api.js';
import { setup } from './fixtures/support.js';

t.test('the events handed to the sink after commit equal a log read, byte for byte', async (t) => {
  const { api, sql } = await setup(t);
  const budgetId = await api.createBudget('owner');
  const handed: StreamEvent[] = [];
  const sink: ChangeSink = { committed: (_p, _m, events) => void handed.push(...(events ?? [])) };
  const processor = new Processor(sql, sink);
  const cat = ev.categoryAdd(budgetId.toUpperCase(), { name: 'Naïve "quoted" ✓', allocate: '12.5' });
  const cat2 = ev.categoryAdd(budgetId);
  const exp = ev.expenseAdd(budgetId, cat.recordId.toUpperCase(), { amount: '3.10', note: 'x\ny' });
  const exp2 = ev.expenseAdd(budgetId, cat2.recordId, { note: null });
  const results = await processor.push(
    [
      cat,
      cat2,
      exp,
      exp2,
      ev.edit('category.edit', budgetId, cat.recordId, 99, { name: 'stale' }), // conflict: nothing logged
      ev.edit('category.edit', budgetId, cat.recordId, 1, { allocate: '7' }),
      ev.edit('expense.edit', budgetId, exp.recordId, 1, { amount: '9.99', categoryId: cat2.recordId, note: null }),
      ev.del('expense.delete', budgetId, exp2.recordId, 1),
      ev.del('category.delete', budgetId, cat2.recordId, 1), // cascades to exp
      ev.edit('budget.edit', budgetId, budgetId, 1, { title: 'Renamed', details: 'd' }),
      ev.del('budget.delete', budgetId, budgetId, 2),
    ],
    'owner',
    'independent',
  );
  t.same(
    results.map((r) => r.status),
    ['accepted', 'accepted', 'accepted', 'accepted', 'conflict', 'accepted', 'accepted', 'accepted', 'accepted', 'accepted', 'accepted'],
  );
  const logged = await readStream(sql, budgetId, handed[0]?.sequence ? handed[0].sequence - 1 : 0, 100);
  t.equal(handed.length, 10, 'every accepted event, none of the refused');
  t.same(
    handed.map((e) => e.eventType),
    [
      'category.add',
      'category.add',
      'expense.add',
      'expense.add',
      'category.edit',
      'expense.edit',
      'expense.delete',
      'category.delete',
      'budget.edit',
      'budget.delete',
    ],
  );
  t.equal(JSON.stringify(handed), JSON.stringify(logged), 'the same JSON as the log read');
  t.match(handed[7], { cascade: { expenseIds: [exp.recordId] } });
});

t.test("the budget head is written by the batch's last accepted change, or after it when the last one was refused", async (t) => {
  const { api, sql } = await setup(t);
  const [a, b, c] = [await api.createBudget('owner'), await api.createBudget('owner'), await api.createBudget('owner')];
  const processor = new Processor(sql, { committed: () => {} });
  const heads = async () => {
    const rows = await sql<{ id: string; last_sequence: number; logged: number }[]>`
      SELECT b.id, b.last_sequence, (SELECT max(sequence) FROM events e WHERE e.budget_id = b.id)::int AS logged
      FROM budgets b WHERE b.id IN (${a}, ${b}, ${c})`;
    return new Map(rows.map((r) => [r.id, r]));
  };
  const catA = ev.categoryAdd(a);
  const results = await processor.push(
    [
      catA,
      ev.categoryAdd(b),
      ev.edit('category.edit', a, catA.recordId, 1, { name: 'a2' }),
      ev.edit('category.edit', a, catA.recordId, 1, { name: 'stale' }), // a's last: refused
      ev.categoryAdd(b), // b's last: accepted, writes b's head itself
      ev.edit('budget.edit', c, c, 1, { title: 'c' }), // budget.*: never in the same statement
    ],
    'owner',
    'independent',
  );
  t.same(
    results.map((r) => r.status),
    ['accepted', 'accepted', 'accepted', 'conflict', 'accepted', 'accepted'],
  );
  for (const [id, r] of await heads())
    t.equal(r.last_sequence, r.logged, `budget ${id === a ? 'a' : id === b ? 'b' : 'c'}: head = last logged sequence`);
  // stopOnError stops before b's last event: the head written is the last one applied.
  const stopped = await processor.push(
    [ev.categoryAdd(b), ev.edit('category.edit', a, catA.recordId, 1, { name: 'x' }), ev.categoryAdd(b)],
    'owner',
  );
  t.same(
    stopped.map((r) => r.status),
    ['accepted', 'conflict', 'skipped'],
  );
  const after = await heads();
  t.equal(after.get(b)?.last_sequence, after.get(b)?.logged, 'b after a stopped batch');
  t.equal(after.get(b)?.logged, 5, 'b: its two opening events (create, owner joins) and three adds');
});
