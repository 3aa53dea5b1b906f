/**
 * Security headers on a real server: every API answer says `nosniff` (and carries an API's
 * restrictive content policy), and every answer of a route that takes a token — refusals included —
 * is `no-store`, so no shared or browser cache keeps a household's data.
 */
import t from 'tap';
import { ev } from '../helpers/api.js';
import { type Ctx, setup } from '../sync/fixtures/support.js';

let ctx: Ctx;
t.before(async () => {
  ctx = await setup(t);
});

t.test('authenticated answers are nosniff and no-store, refusals too', async (t) => {
  const { api } = ctx;
  const budgetId = await api.createBudget('alice');
  const cases = [
    ['GET', '/user', 'alice', undefined, 200],
    ['GET', `/budgets/${budgetId}/snapshot`, 'alice', undefined, 200],
    ['POST', '/events', 'alice', { events: [ev.categoryAdd(budgetId)] }, 200],
    ['GET', `/budgets/${budgetId}`, 'stranger', undefined, 403],
    ['GET', '/user', null, undefined, 401],
    ['POST', '/events', 'alice', { events: 'no' }, 400],
  ] as const;
  for (const [method, url, uid, body, status] of cases) {
    const res = await api.req(method, url, uid, body);
    t.equal(res.statusCode, status, `${method} ${url}`);
    t.equal(res.headers['x-content-type-options'], 'nosniff', `${method} ${url} ${status}: nosniff`);
    t.equal(res.headers['cache-control'], 'no-store', `${method} ${url} ${status}: no-store`);
    t.match(res.headers['content-security-policy'], /default-src 'none'/, `${method} ${url} ${status}: nothing may load or run`);
  }
});

t.test('operational and unknown routes are nosniff too', async (t) => {
  for (const url of ['/healthz', '/readyz', '/openapi.json', '/metrics', '/no/such/route']) {
    const res = await ctx.api.req('GET', url, null);
    t.equal(res.headers['x-content-type-options'], 'nosniff', url);
  }
});
