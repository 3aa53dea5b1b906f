import t from 'tap';
import { Api, ev } from '../helpers/api.js';
import { startTestServer } from '../helpers/server.js';

t.test('a budget, a category and an expense go through the write path and come back in the stream', async (t) => {
  const { app } = await startTestServer(t);
  const api = new Api(app);
  const budgetId = await api.createBudget('alice');
  const cat = ev.categoryAdd(budgetId);
  const results = await api.push('alice', [cat, ev.expenseAdd(budgetId, cat.recordId, { amount: '12.5' })]);
  t.same(
    results.map((r) => [r.status, r.sequence]),
    [
      ['accepted', 3],
      ['accepted', 4],
    ],
  );
  t.equal(results[1]?.record?.amount, '12.50');
  const stream = await api.stream('alice', budgetId);
  t.same(
    stream.events.map((e) => e.sequence),
    [1, 2, 3, 4],
  );
  t.same(
    stream.events.map((e) => e.eventType),
    ['budget.create', 'participant.add', 'category.add', 'expense.add'],
  );
});
