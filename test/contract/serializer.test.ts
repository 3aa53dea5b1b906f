/**
 * Answers are written by their response schemas (src/http/serializer.ts): a field the schema does
 * not declare never leaves the server, a record keeps exactly its own fields, and `null` stays null.
 */
import Fastify from 'fastify';
import t from 'tap';
import { streamSchema } from '../../src/http/routes/event-schemas.js';
import { registerComponents } from '../../src/http/responses.js';
import { buildSerializer } from '../../src/http/serializer.js';

const budgetId = '6414c0de-0000-4000-8000-000000000001';
const expense = {
  id: '6414c0de-0000-4000-8000-000000000002',
  budgetId,
  categoryId: '6414c0de-0000-4000-8000-000000000003',
  date: '2025-05-06',
  amount: '150.00',
  note: null,
  createdBy: 'alice',
  version: 1,
  createdAt: 1,
  updatedAt: 1,
};
const participant = { userId: 'bob', budgetId, role: 'member', joinedAt: 2, firstName: 'Bob', lastName: null, photo: null };
const event = (sequence: number, record: unknown) => ({
  sequence,
  eventId: `6414c0de-0000-4000-8000-00000000001${sequence}`,
  eventType: 'expense.add',
  budgetId,
  recordId: expense.id,
  actorId: 'alice',
  when: 5,
  serverTime: 6,
  version: record === null ? null : 1,
  record,
});

t.test('the compiled serializer drops undeclared fields and keeps each record as it is', async (t) => {
  const app = Fastify({ schemaController: { compilersFactory: { buildSerializer } } });
  registerComponents(app);
  const events = [event(1, { ...expense, internal: 'x' }), event(2, participant), event(3, null)];
  app.get('/page', { schema: { response: streamSchema.response } }, async () => ({
    budgetId,
    key: 0,
    nextKey: 3,
    events: events.map((e) => ({ ...e, rowid: 7 })),
    hasMore: false,
    secret: 'never sent',
  }));
  t.teardown(() => app.close());
  const res = await app.inject({ url: '/page' });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { budgetId, key: 0, nextKey: 3, events: [event(1, expense), event(2, participant), event(3, null)], hasMore: false });
  t.notMatch(res.body, /secret|rowid|internal/, 'nothing undeclared is sent');
});
