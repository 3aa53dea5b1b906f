/**
 * The conformance hook itself (test/helpers/conformance.ts) must be able to fail: each kind of
 * mismatch it exists to catch is caught, and what the contract allows passes.
 */
import t from 'tap';
import { checkResponse, checkServerMessage } from '../helpers/conformance.js';

const budget = {
  id: '6414c0de-0000-4000-8000-000000000001',
  title: 'Home',
  details: null,
  ownerId: 'alice',
  createdBy: 'alice',
  version: 1,
  createdAt: 1774718381798,
  updatedAt: 1774718381798,
};
const json = 'application/json; charset=utf-8';

t.test('HTTP answers: documented bodies pass; extra fields, wrong types and undocumented statuses fail', async (t) => {
  t.equal(checkResponse('GET', '/budgets/:budgetId', 200, json, { budget, lastSequence: 2 }), undefined, 'the documented answer');
  t.ok(
    checkResponse('GET', '/budgets/:budgetId', 200, json, { budget: { ...budget, secret: 1 }, lastSequence: 2 }),
    'a field not declared',
  );
  t.ok(checkResponse('GET', '/budgets/:budgetId', 200, json, { budget: { ...budget, version: '1' }, lastSequence: 2 }), 'a wrong type');
  t.ok(checkResponse('GET', '/budgets/:budgetId', 200, json, { budget }), 'a missing field');
  t.ok(
    checkResponse('GET', '/budgets/:budgetId', 409, json, { error: { statusCode: 409, code: 'BUDGET_EXISTS', message: 'x' } }),
    'a status the route does not list',
  );
  t.ok(checkResponse('GET', '/budgets/:budgetId', 200, 'text/html', '<p>'), 'a content type the route does not list');
  const error = { error: { statusCode: 404, code: 'BUDGET_NOT_FOUND', message: 'no such budget' } };
  t.equal(checkResponse('GET', '/budgets/:budgetId', 404, json, error), undefined, 'the error envelope');
  t.ok(checkResponse('GET', '/budgets/:budgetId', 404, json, { error: { ...error.error, code: 'NO_SUCH_CODE' } }), 'an unknown error code');
  t.equal(checkResponse('GET', undefined, 404, json, error), undefined, 'an unknown URL answers the envelope');
  t.ok(checkResponse('GET', undefined, 200, json, {}), 'but never a success');
  t.equal(checkResponse('DELETE', '/user', 204, '', null), undefined, 'a 204 without a body');
  t.ok(checkResponse('DELETE', '/user', 204, json, { ok: true }), 'a 204 with a body');
  t.equal(checkResponse('GET', '/metrics', 200, 'text/plain; version=0.0.4', '# HELP x\n'), undefined, 'Prometheus text');
});

t.test('socket messages: documented messages pass; unknown types, extra fields and bad JSON fail', async (t) => {
  const hello = { type: 'hello', protocol: 1, connectionId: 'c1', userId: 'alice', heartbeatMs: 30000 };
  t.equal(checkServerMessage(JSON.stringify(hello)), undefined, 'hello');
  t.ok(checkServerMessage(JSON.stringify({ ...hello, extra: true })), 'a field not declared');
  t.ok(checkServerMessage(JSON.stringify({ ...hello, protocol: 2 })), 'a wrong value');
  t.ok(checkServerMessage(JSON.stringify({ type: 'subscribe', budgetId: budget.id, after: 0 })), 'a client message from the server');
  t.ok(checkServerMessage(JSON.stringify({ type: 'nope' })), 'an unknown type');
  t.ok(checkServerMessage('{'), 'not JSON');
  const events = {
    type: 'events',
    budgetId: budget.id,
    events: [
      {
        sequence: 1,
        eventId: '6414c0de-0000-4000-8000-000000000002',
        eventType: 'budget.create',
        budgetId: budget.id,
        recordId: budget.id,
        actorId: 'alice',
        when: 1774718381798,
        serverTime: 1774718381811,
        version: 1,
        record: budget,
      },
    ],
  };
  t.equal(checkServerMessage(JSON.stringify(events)), undefined, 'a stream event with its record');
  const e0 = events.events[0] as (typeof events.events)[0];
  t.ok(checkServerMessage(JSON.stringify({ ...events, events: [{ ...e0, sequence: -1 }] })), 'a negative sequence');
});
